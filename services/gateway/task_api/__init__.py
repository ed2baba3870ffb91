"""The Task API (seed 001, `/api/task/*`): typed products on the task engine (`shared.typed_tasks`)."""
