"""The Gradio app: one module a tab, each calling into photogen and holding no logic of its own."""
