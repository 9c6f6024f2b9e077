"""The REST API of recordings (``/api/v1/recordings/``): metadata, and a short-lived signed URL
to the audio that serves HTTP Range."""
