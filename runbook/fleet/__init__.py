"""The ASG deployment's fleet: each InService instance judged as a worker of its own.

- :mod:`runbook.fleet.boot` reads an instance's boot output (``ec2:GetConsoleOutput``) the way the real user
  data prints it: ``docker run attempt N failed``, ECR login failures, the end line;
- :mod:`runbook.fleet.containers` reads ``docker ps -a`` tables (end of boot, and now);
- :mod:`runbook.fleet.command` builds the one read-only command sent to each instance (SSM Run Command) and
  reads its answer;
- :mod:`runbook.fleet.merge` merges the instances' log summaries into the run's timelines;
- :mod:`runbook.fleet.judge` decides, per instance, whether it has a worker and why not.

A library: no pytest, no clients (the probes in :mod:`runbook.probes.fleet` and
:mod:`runbook.probes.run_command` fetch what these modules read).
"""
