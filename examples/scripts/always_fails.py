"""Always fails: raises inside its logic, so the run ends with an error result and exit code 1."""

from scriptdeck.sdk import ScriptBase, create_simple_script


def main_logic(script: ScriptBase):
    raise RuntimeError("this script fails on purpose")


if __name__ == "__main__":
    create_simple_script("always_fails", main_logic)
