"""People's identities inside the exported diffusion graph (issue 6).

An IP-Adapter-family identity adapter (decoupled cross-attention on identity tokens projected from a
face input) is loaded with diffusers' own loader, given regional attention for several people, and
traced into the exported UNet graph with the face input as a graph input. What the CLI and UI call:

    people = people_references(library, ["me", "Anna"])           # catalog -> references (+ crops)
    request = GenerationRequest(mode="text", prompt=P, model_id=M, people=people, variants=2, best_of=4)
    result = generate(request, settings, engine)                    # images carry extra["likeness"]

    import_adapter(path, "ip-adapter-faceid", settings, accept_license=True)   # the user's download
    ADAPTERS / adapters_for(model_spec)                              # what fits which base model

Modules: `adapters` (the adapters known), `checkpoint` (the published weights' layout), `weights`
(installed adapters), `tiny` (random test adapters), `unet` (the identity UNet in torch), `export`
(its ONNX export and checks), `references` (people from the catalog), `encoders` (their faces to the
graph's input), `regions` (where each person goes), `generation` (text-to-image with people, on top
of the engine), `likeness` (how alike the results are).

Importing this package loads no model; torch is imported only by the modules that trace the UNet.
"""

from photogen.generate.identity.adapters import (
    ADAPTERS,
    IdentityAdapterSpec,
    adapters_for,
    check_adapter_fits,
    get_adapter_spec,
)
from photogen.generate.identity.likeness import ImageLikeness, PersonLikeness, score_likeness
from photogen.generate.identity.references import PersonReference, people_references, person_reference
from photogen.generate.identity.tiny import create_tiny_adapter
from photogen.generate.identity.weights import InstalledAdapter, import_adapter, installed_adapter

__all__ = [
    "ADAPTERS",
    "IdentityAdapterSpec",
    "ImageLikeness",
    "InstalledAdapter",
    "PersonLikeness",
    "PersonReference",
    "adapters_for",
    "check_adapter_fits",
    "create_tiny_adapter",
    "get_adapter_spec",
    "import_adapter",
    "installed_adapter",
    "people_references",
    "person_reference",
    "score_likeness",
]
