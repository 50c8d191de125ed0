"""Always fails: raises inside its logic, so the run ends with an error result and exit code 1."""

from scriptdeck.sdk import ScriptBase, create_simple_script

PARAMETERS = {
    "message": {
        "type": "string",
        "title": "Error message",
        "description": "What the error says.",
        "default": "this script fails on purpose",
    },
}


def main_logic(script: ScriptBase):
    raise RuntimeError(script.get_parameter("message") or "this script fails on purpose")


if __name__ == "__main__":
    create_simple_script("always_fails", main_logic)
