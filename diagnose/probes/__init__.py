"""Everything that touches the outside world (sockets, the daemon, /proc, files) lives behind these probes."""
