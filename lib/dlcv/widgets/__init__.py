"""Reusable ipywidgets UIs of the course, one submodule per widget.

Each widget's ``update`` path never raises: a bad value or an impossible combination
shows a message inside the widget and the widget keeps working.
"""
