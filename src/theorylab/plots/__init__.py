"""Paper-style figures and the self-contained report page."""
