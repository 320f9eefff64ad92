"""Shot groups (Kang et al., ICLR 2020; Liu et al., CVPR 2019): a class is *many*-shot when
its training count is above ``many_threshold``, *few*-shot when it is below
``few_threshold``, *medium* otherwise.

The thresholds' defaults live here, beside the rule that reads them; the metrics, the
reports and the run's settings (``--many-threshold``, ``--few-threshold``) take them from
here. Defaults 60 and 20 suit CLINC150-LT (counts 1 to 100); the usual ImageNet-LT values
are 100 and 20.
"""

MANY_THRESHOLD = 60  # Kang et al.'s split (ICLR 2020), > 100 there on ImageNet-LT
FEW_THRESHOLD = 20  # Kang et al.'s split
GROUPS = ("many", "medium", "few")


def shot_group(count: int, many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD) -> str:
    """``many``, ``medium`` or ``few`` for a class with ``count`` training examples.

    >>> [shot_group(n) for n in (61, 60, 20, 19)]
    ['many', 'medium', 'medium', 'few']
    """
    if count > many_threshold:
        return "many"
    if count < few_threshold:
        return "few"
    return "medium"
