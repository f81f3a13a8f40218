"""dcgm-exporter: exposition parser, normaliser to the ``gpu`` landing shape, async scraper."""
