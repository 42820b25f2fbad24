"""Our own drivers hold the same conversations as the stock ones: on the rig the QCoDeS
and PyMeasure tests drive, each mrfm driver connects (the AMI 430 after its delayed
greeting), reads back every logged setting, and sees what a stock driver set."""

from __future__ import annotations

import dataclasses

import pytest

qcodes = pytest.importorskip("qcodes")
from qcodes.instrument_drivers.stanford_research import SR830 as QcodesSR830  # noqa: E402

from mrfm.drivers import open_instrument  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::qcodes.utils.deprecate.QCoDeSDeprecationWarning"
)


def test_mrfm_drivers_and_stock_drivers_share_the_rig(rig):
    opened = {
        spec.name: open_instrument(dataclasses.replace(spec, resource=rig.resources[spec.name]))
        for spec in rig.rig.instruments
    }
    try:
        for name, drv in opened.items():
            book = drv.logbook()
            assert book, name  # every logged setting read back
        stock = QcodesSR830("own_sr830", rig.resources["lockin"], terminator="\n",
                            visalib="@py")
        stock.time_constant(0.3)
        stock.sensitivity(2e-3)
        # the stock writes go unanswered on their own connection: a read on it returns
        # once the instrument has handled them (a query on our connection could overtake)
        assert stock.sensitivity() == pytest.approx(2e-3)
        assert opened["lockin"].time_constant == pytest.approx(0.3)
        assert opened["lockin"].sensitivity == pytest.approx(2e-3)
        opened["lockin"].time_constant = 0.01
        assert stock.time_constant() == 0.01
        stock.close()
    finally:
        for drv in opened.values():
            drv.close()
