"""cryoctl: an emulator of the classical control stack of superconducting quantum computers.

The package follows the signal chain (DESIGN.md): profile -> dac -> pulse -> physics -> gates ->
circuit -> qnn -> cost -> study -> report -> cli. A module imports only from layers above it.
"""

from cryoctl.errors import CryoctlError

__all__ = ["CryoctlError"]
__version__ = "0.1.0"
