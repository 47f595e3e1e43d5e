"""astroplan's PriorityScheduler wrapped per site as a policy (``priority-scheduler``).

Answers ``openastro_choose`` when the run's policy is ``priority-scheduler``:
the best-scored feasible candidates are scheduled by astroplan from now to the
end of the site's dark interval and the block scheduled first is observed.
"""

from plugins.priority_scheduler.plan import PlannedBlock, SchedulerSettings, plan_blocks
from plugins.priority_scheduler.policy import NAME, DecisionTiming, PrioritySchedulerPolicy

__all__ = ["NAME", "DecisionTiming", "PlannedBlock", "PrioritySchedulerPolicy",
           "SchedulerSettings", "plan_blocks"]
