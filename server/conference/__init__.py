"""The online conference across the tree: the live board, the media seam, the socket messages."""
