"""All git access of vbot, one concern per module.

- :mod:`vbot.git.env`: the environment git runs in, the plain-``git`` runner, error texts;
- :mod:`vbot.git.remote`: remote URLs and the default workdir;
- :mod:`vbot.git.options`: how much of the data repo a workspace holds (``[git]``);
- :mod:`vbot.git.shallow`: shallow, partial, sparse clones; fetch and deepen;
- :mod:`vbot.git.workspace`: the locked private clone (clone, update, repair);
- :mod:`vbot.git.commit`: one commit of the files vbot wrote (``git fast-import``);
- :mod:`vbot.git.push`: fetch, rebase and push with retry;
- :mod:`vbot.git.log`: log, blob and tree readers for the maintainer commands;
- :mod:`vbot.git.maintainer`: helpers on a maintainer's own clone (toplevel, hooks, revert);
- :mod:`vbot.git.tags`: upstream tags (the gittags source);
- :mod:`vbot.testing.gitfixtures`: bare repos for the demo, tests and benchmarks.

git never prompts (no terminal, no askpass), speaks English (its messages are matched) and gives
up on a stalled HTTP transfer; every git message shown is passed through ``vbot.redact``.
"""
