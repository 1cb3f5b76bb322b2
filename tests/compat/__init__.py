"""The seed project's loaders ported to graph_checkpoint.compat, with a fake TK API."""
