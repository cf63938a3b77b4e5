"""Pusher that moves a finished copy into serving/ in one rename."""
