#!/usr/bin/env python3
"""Drop-in replacement for the seed's run_classifier_weighted_loss.py.

Takes the seed's flags (--task_name=weightedloss --do_train=true --data_dir=...
--init_checkpoint=... --weighted_loss=true ...) and runs weighted-bert; see
weighted_bert/compat.py for how each flag maps.
"""

import sys

from weighted_bert.compat import main

if __name__ == "__main__":
    sys.exit(main())
