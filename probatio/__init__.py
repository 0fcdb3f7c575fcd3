"""probatio: the national node for transferring probation supervision under FD 2008/947/JHA."""

__version__ = "0.1.0"
