"""Not imported at run time: this file only makes setuptools ship the folder in a wheel."""
