"""Talking to Google: OAuth for an installed app and the Google Photos Picker API.

Only calls the user started go out, and only to the endpoints in `GoogleSettings`, which tests
point at a local fake server.

- `settings`: the endpoints and how patiently to call them (`PHOTOGEN_GOOGLE_*`)
- `oauth`: the user's own client file, sign-in, tokens kept in the catalog, revocation
- `picker_api`: the Picker API client (sessions, items, downloads, retries)
- `picking`: a picking session from photogen's side (waiting, naming and dating the picked items)
"""
