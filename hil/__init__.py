"""hil: hardware-in-the-loop bench sessions (placeholder).

This package will hold the serial bridge that drives real pump hardware with
the same firmware model and scenarios: the wire protocol, transports (pyserial
ports, ``loop://``, ptys), bench runs, virtual bench devices and instruments
such as an MT-SICS lab balance. Its issue has not been taken yet; nothing here
is functional. The dependency direction is fixed: ``hil -> pumpsim ->
firmware_model``.
"""
