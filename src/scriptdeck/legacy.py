"""The source's contract, in one place: every name and word kept from the older system.

"The source" is the in-house scan-and-update platform scriptdeck replaces: a Django app
whose pages ran scripts through Celery (its design document is kept with the product's
brief). Scripts and clients written for it must work unchanged, so these stay exactly as
it had them, Chinese words included, however odd they read. docs/legacy.md says why each
is kept. Standard library only: the SDK, inside a script's process, reads it too.
"""

from __future__ import annotations

# The HTTP routes its pages called (api/compat.py answers them in its shapes).
COMPAT_URL_PREFIX = "myapp/api/"
COMPAT_EXECUTE_PATH = "execute-script/"
COMPAT_RESULT_PATH = "script-task-result/"

# The module path its scripts import the SDK from (``from celery_app.script_base import …``).
SDK_MODULE = "celery_app.script_base"

# Its result record (``ScanDevUpdate_scanResult``): the field names the API keeps, and what a
# successful run writes into them.
RECORD_FIELDS = (
    "scandevresult_filename",
    "scandevresult_time",
    "director",
    "remark",
    "scandevresult_content",
    "status",
    "result_type",
)
RESULT_FILE_SUFFIX = "_执行结果_"  # "<script>_执行结果_<task id 8>.json": "execution result"
SYSTEM_DIRECTOR = "系统自动"  # the record's director: "the system, automatically"
RECORD_REMARK = "脚本执行结果 - {what}"  # "script execution result - <description or name>"
RECORD_STATUS_DONE = "0"
RECORD_RESULT_TYPE = "script"

# Messages its pages showed; the English after them is scriptdeck's own.
TEXT_OUTPUT_MESSAGE = "脚本执行完成，输出为文本格式"  # "the script finished; its output is text"
TIMEOUT_MESSAGE = "脚本执行超时"  # "the script timed out"
EXIT_CODE_MESSAGE = "脚本执行失败 (返回码: {code})"  # "the script failed (exit code: N)"
SDK_ERROR_MESSAGE = "{script}执行出错: {error}"  # "<script> failed: <error>", from the SDK
