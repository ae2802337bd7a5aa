"""The offline sandbox: a local server that answers like Reddit, Flickr and the image hosts."""
