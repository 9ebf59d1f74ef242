"""Beam orchestration (`silake.pipelines`): the pipelines only fan out plain-Python units of work."""
