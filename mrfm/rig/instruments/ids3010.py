"""Virtual attocube IDS3010 displacement interferometer (JSON-RPC 2.0 line protocol).

One JSON object per line (the real unit: TCP 9090), replies end in CR LF.
Request ``{"jsonrpc": "2.0", "method": "com.attocube.ids.displacement.getAxisDisplacement",
"params": [0], "id": 7, "api": 2}``; reply ``{"jsonrpc": "2.0", "result": [0, 1234], "id": 7}``.
Both namespaces are served: ``com.attocube.ids.*`` (firmware < 1.9.1) and
``com.attocube.sen.*``. Malformed requests get JSON-RPC errors (-32700 parse
error, -32600 invalid request, -32601 method not found, -32602 invalid params)
and the connection stays open. Axes 0, 1, 2 measure the rig's tip x, y and
height (coarse plus fine, with the stage's creep and hysteresis), in pm, with
a few pm of noise; displacements count from the start of the measurement.
A started measurement runs after a 1 s (simulated) alignment.
"""

from __future__ import annotations

import json

from mrfm.rig.instruments.base import MAX_DETAIL, CommandError, Session, VirtualInstrument

PM = 1e-12
NOISE_PM = 2.0
STARTUP_S = 1.0
WORKING_DISTANCE = 5e-3


class IDS3010(VirtualInstrument):
    """IDS3010 (see module docstring)."""

    driver = "attocube.ids3010"
    model = "IDS3010"
    read_termination = "\r\n"
    write_termination = "\r\n"
    real_port = 9090

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.started_at: float | None = None
        self.origin = (0.0, 0.0, 0.0)

    def identify_query(self) -> str:
        return json.dumps({"jsonrpc": "2.0", "method": "com.attocube.ids.system.getDeviceType",
                           "params": [], "id": 1, "api": 2})

    def is_query(self, line: str) -> bool:
        return True

    def _positions(self) -> tuple[float, float, float]:
        st = self.state
        with st.lock:
            now = st.clock.now()
            fine = st.fine
            return tuple(  # type: ignore[return-value]
                st.coarse.offset(n) + fine.open_loop_position(fine.axes[n], now)
                if not fine.axes[n].servo
                else st.coarse.offset(n) + fine.position(fine.axes[n], now, noisy=False)
                for n in ("1", "2", "3")
            )

    def _mode(self) -> str:
        if self.started_at is None:
            return "system idle"
        if self.state.clock.now() - self.started_at < STARTUP_S:
            return "measurement starting"
        return "measurement running"

    def _reply(self, rid, result=None, error: tuple[int, str] | None = None) -> list[str]:
        body: dict = {"jsonrpc": "2.0", "id": rid}
        if error is not None:
            body["error"] = {"code": error[0], "message": error[1]}
        else:
            body["result"] = result
        return [json.dumps(body)]

    def error_reply(self, exc: CommandError, session: Session) -> list[str]:
        return self._reply(None, error=(-32600, "Invalid Request"))

    def execute(self, line: str, session: Session) -> list[str]:
        try:
            req = json.loads(line)
        except (ValueError, RecursionError):
            self.push_error(-32700, "Parse error")
            return self._reply(None, error=(-32700, "Parse error"))
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            self.push_error(-32600, "Invalid Request")
            return self._reply(None, error=(-32600, "Invalid Request"))
        rid = req.get("id")
        if (not isinstance(rid, (int, str)) or isinstance(rid, bool)
                or len(str(rid)) > MAX_DETAIL):  # an id is echoed: only a short one
            rid = None
        params = req.get("params", [])
        if not isinstance(params, list):
            self.push_error(-32602, "Invalid params")
            return self._reply(rid, error=(-32602, "Invalid params"))
        method = req["method"]
        for prefix in ("com.attocube.ids.", "com.attocube.sen."):
            if method.startswith(prefix):
                method = method[len(prefix):]
                break
        else:
            self.push_error(-32601, "Method not found")
            return self._reply(rid, error=(-32601, "Method not found"))
        try:
            result = self.call(method, params)
        except CommandError as exc:
            self.push_error(exc.code, exc.message)
            return self._reply(rid, error=(exc.code, exc.message))
        return self._reply(rid, result)

    def _axis(self, params: list) -> int:
        if len(params) != 1 or not isinstance(params[0], int) or isinstance(params[0], bool):
            raise CommandError(-32602, "Invalid params")
        if not 0 <= params[0] <= 2:
            raise CommandError(-32602, "Invalid params")
        return params[0]

    def _pm(self, metres: float) -> int:
        return int(round(metres / PM + self.state.rng.normal(0.0, NOISE_PM)))

    def call(self, method: str, params: list) -> list:
        """Result list of one method (error number first)."""
        now = self.state.clock.now()
        if method == "system.getDeviceType":
            return [0, "IDS3010"]
        if method == "system.getCurrentMode":
            return [0, self._mode()]
        if method == "system.startMeasurement":
            if self.started_at is None:
                self.started_at = now
                self.origin = self._positions()
            return [0]
        if method == "system.stopMeasurement":
            self.started_at = None
            return [0]
        if method in ("displacement.getAxisDisplacement", "displacement.getAbsolutePosition"):
            axis = self._axis(params)
            if self._mode() != "measurement running":
                return [1, 0]
            pos = self._positions()[axis]
            if method.endswith("Displacement"):
                return [0, self._pm(pos - self.origin[axis])]
            return [0, self._pm(WORKING_DISTANCE + pos)]
        if method in ("displacement.getAxesDisplacement", "displacement.getAbsolutePositions"):
            if params:
                raise CommandError(-32602, "Invalid params")
            if self._mode() != "measurement running":
                return [1, 0, 0, 0]
            pos = self._positions()
            if method.endswith("Displacement"):
                return [0, *(self._pm(p - o) for p, o in zip(pos, self.origin, strict=True))]
            return [0, *(self._pm(WORKING_DISTANCE + p) for p in pos)]
        if method == "displacement.getSignalQuality":
            self._axis(params)
            contrast = 850 if self._mode() == "measurement running" else 0
            return [0, contrast, 500]
        if method == "displacement.getMeasurementEnabled":
            return [0, self._mode() == "measurement running"]
        raise CommandError(-32601, "Method not found")

