"""The web UI's pages, run by webui/app.py through st.navigation (never served on their own)."""
