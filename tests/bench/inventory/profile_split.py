"""Where one profiled `ansible-inventory --list` spent its time: in the plugin's
AWS requests, in the rest of the plugin, or in ansible-core."""

import pstats

# plugin -> (its file, its parse, the method that asks AWS)
PLUGINS = {
    "pakashop.infra.ec2": ("pakashop/infra/plugins/inventory/ec2.py", "parse", "_describe"),
    "amazon.aws.aws_ec2": ("amazon/aws/plugins/inventory/aws_ec2.py", "parse", "_query"),
}


def split(profile, plugin):
    """{'total', 'api', 'plugin', 'core'} in profiled seconds."""
    stats = pstats.Stats(str(profile))
    suffix, parse, ask = PLUGINS[plugin]

    def cumulative(function):
        return sum(cumtime for (path, _line, name), (_cc, _nc, _tt, cumtime, _callers) in stats.stats.items()
                   if path.endswith(suffix) and name == function)

    total, in_parse, api = stats.total_tt, cumulative(parse), cumulative(ask)
    return {"total": total, "api": api, "plugin": in_parse - api, "core": total - in_parse}
