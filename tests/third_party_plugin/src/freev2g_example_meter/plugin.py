import click
import freev2g
from freev2g.boards import PowerMeterReading


class FixedLoadMeter:
    """A power meter for a constant load: energy grows with the station's clock."""

    def __init__(self, power_W: float, clock):
        self.power_W, self.clock = power_W, clock

    def subscribe(self, listener):
        pass  # a fixed load raises no events

    def read(self) -> PowerMeterReading:
        energy_Wh = self.power_W * self.clock.monotonic() / 3600.0
        return PowerMeterReading(energy_import_Wh=energy_Wh, energy_export_Wh=0.0, power_W=self.power_W)


@freev2g.hookimpl
def freev2g_register_boards(registry):
    registry.register("power_meter", "fixed_load",
                      lambda config, ctx: FixedLoadMeter(float(config.get("power_W", 7400.0)), ctx.clock),
                      description="meter of a constant load (example plugin)")


@freev2g.hookimpl
def freev2g_register_commands(cli):
    @cli.command("meter-demo")
    @click.option("--power-w", type=float, default=7400.0, show_default=True)
    @click.option("--hours", type=float, default=1.0, show_default=True)
    def meter_demo(power_w: float, hours: float):
        """Energy a fixed load meters in HOURS."""
        click.echo(f"{power_w * hours:.1f} Wh")
