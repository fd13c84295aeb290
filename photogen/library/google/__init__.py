"""Talking to Google: OAuth for an installed app and the Google Photos Picker API.

Only calls the user started go out, and only to the endpoints in `GoogleSettings`, which tests
point at a local fake server.
"""
