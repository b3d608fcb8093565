"""The deployment agent: a front end of the control plane on a serving host. It pulls the
desired endpoints, loads their versions as model servers, routes each request by the
endpoint's weights (sticky or random, with shadow copies) and reports per-version counters."""

from mlpipex.agent.control import Agent, AgentConfig
from mlpipex.agent.desired import DesiredState, EndpointSpec, VersionSpec, parse_desired
from mlpipex.agent.run import run_agent

__all__ = [
    "Agent",
    "AgentConfig",
    "DesiredState",
    "EndpointSpec",
    "VersionSpec",
    "parse_desired",
    "run_agent",
]
