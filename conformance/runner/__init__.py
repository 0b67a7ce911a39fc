"""Running many calls at once: hypothesis engines and requests to different ad groups fanned out
over threads, the chosen error raised where the test can report it."""
