"""In-app notifications (designed so that email can be added later)."""
