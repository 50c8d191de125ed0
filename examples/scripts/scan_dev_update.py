"""扫描设备更新 (scan device updates): the source's example; echoes its parameters and page."""

from celery_app.script_base import ScriptBase, create_simple_script

# 参数 (the parameters the form offers). The source's pages send whatever they like, and
# the script echoes it all back, so other names stay allowed.
PARAMETERS = {
    'type': 'object',
    'properties': {
        'target': {
            'type': 'string',
            'title': '扫描目标 (target)',
            'description': 'A device name, or "all".',
            'default': 'all',
        },
        'mode': {
            'type': 'string',
            'title': '扫描模式 (mode)',
            'enum': ['quick', 'full'],
            'default': 'quick',
        },
    },
    'additionalProperties': True,
}


def main_logic(script: ScriptBase):
    # 获取参数 (read the parameters)
    target = script.get_parameter('target', 'all')
    mode = script.get_parameter('mode', 'quick')

    # 执行业务逻辑 (the work: here, record what was asked)
    processed_parameters = dict(script.parameters)
    processed_parameters.setdefault('target', target)
    processed_parameters.setdefault('mode', mode)

    # 返回结果 (return the result)
    return script.success_result("扫描完成", {
        'script_name': script.script_name,
        'execution_context': script.page_context,
        'processed_parameters': processed_parameters,
    })


if __name__ == '__main__':
    create_simple_script('scan_dev_update', main_logic)
