"""Crawlers: Reddit (PRAW), Flickr (flickrapi), rehydration, and the offline sandbox."""
