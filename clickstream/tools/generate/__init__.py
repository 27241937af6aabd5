"""Realistic shop traffic for the raw lake, with faults on request and the exact truth.

    from clickstream.tools.generate import GeneratorConfig, generate_to_dir
    truth = generate_to_dir(GeneratorConfig.with_faults(seed=7, hours=72), Path("out"))

Modules, in the order data flows through them: ``catalog`` (products),
``traffic`` (visitors and visits), ``faults`` (damage), ``writer`` (objects
and keys), ``generator`` (the run, the config and the truth).
"""

from clickstream.tools.generate.catalog import Product, catalog
from clickstream.tools.generate.generator import (
    FAULT_MIX,
    TRUTH_FILE,
    GeneratorConfig,
    TrafficGenerator,
    Truth,
    generate_objects,
    generate_to_dir,
)

__all__ = [
    "FAULT_MIX",
    "TRUTH_FILE",
    "GeneratorConfig",
    "Product",
    "TrafficGenerator",
    "Truth",
    "catalog",
    "generate_objects",
    "generate_to_dir",
]
