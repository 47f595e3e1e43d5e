"""The console's views, one module each, and the widgets they share."""
