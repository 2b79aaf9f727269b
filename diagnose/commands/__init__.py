"""Command logic (pipx style): each verb takes plain arguments and returns a result; rendering is elsewhere."""
