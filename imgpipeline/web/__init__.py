"""The applicant's web page and JSON API (``imgpipeline serve``): ``app.create_app``."""
