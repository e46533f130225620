"Write speculators/cli_spec.json, what the command line knows of the library before importing it (see nbs/12b_clispec.ipynb)."
from speculators.clispec import write_spec, spec_path
write_spec()
print(f"wrote {spec_path()}")
