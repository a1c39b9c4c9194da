"""Post-campaign review (the C of SOSTAC): scorecard, experiments, value, budget and lessons.

Modules: :mod:`~imclab.review.scorecard` (objectives and KPI tiers),
:mod:`~imclab.review.plan_vs_actual` (budget, Gantt spans, channel ROI),
:mod:`~imclab.review.experiments` (survey lift, A/B read-outs, geo-holdout DiD),
:mod:`~imclab.review.clv`, :mod:`~imclab.review.budget`, :mod:`~imclab.review.consistency`
and :mod:`~imclab.review.lessons` (findings and headline tiles). Import the module you need;
this package imports nothing, so ``pymc_marketing`` or ``statsmodels`` load only when used.
"""
