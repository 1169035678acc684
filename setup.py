"""Build hook: an installed peacesim (a wheel, ``pip install .``) carries the shipped scenarios,
experiments and comparisons, which live beside the package in the source tree (``scenarios/``,
``experiments/``). An editable install reads them where they are."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("scenarios", "experiments")  # copied to peacesim/scenarios/ and peacesim/experiments/


class BuildWithShippedFiles(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder in SHIPPED:
            for source in sorted((ROOT / folder).rglob("*.toml")):
                target = Path(self.build_lib) / "peacesim" / folder / source.relative_to(ROOT / folder)
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithShippedFiles})
