"""Generic machinery any engine can use: the task graph on Parsl with its executors and Slurm settings
(:mod:`~phonomag.workflow.parsl_tasks`) and the MPI launcher (:mod:`~phonomag.workflow.launcher`)."""
