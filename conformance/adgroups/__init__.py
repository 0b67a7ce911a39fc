"""Ad groups as the run finds, changes and leaves them: the census before the run, the state
set-ups, the refusals and their side effects, the identities, the restore, the dry run."""
