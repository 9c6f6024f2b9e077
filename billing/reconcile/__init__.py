"""Bill reconciliation: Huawei's bill export for a month, checked against the console's figures.

**The file.** The fee centre (费用中心 > 账单管理 > 流水与明细账单 > 明细账单, 统计维度
“使用量类型”, 统计周期 “明细”, 导出) exports the usage details of each pay-per-use resource,
one line per charging period: for PrivateNumber, per hour (结算时以小时为周期扣费). The same
columns are those of the subscribed file ``%账号名%_PriceFactorBillDetail_YYYYMMDD``. What
Huawei documents, and what this parser reads (``COLUMNS``; Chinese names as exported, English
names of the international console as aliases):

* 账期 / Billing Cycle: ``2020-08``. Checked against the month chosen.
* 消费时间 / Expenditure Time: ``2020-08-23 22:00:00 GMT+08:00-2020-08-23 23:00:00 GMT+08:00``
  for pay-per-use: the hour charged. 使用开始时间 / Usage Start Time is read when it is absent.
* 产品类型 / Service Type: the cloud service; lines of other services are left out. The value on
  PrivateNumber's lines (隐私保护通话) is UNCONFIRMED.
* 资源ID / Resource ID, 资源名称 / Resource Name: the resource charged. Which value PrivateNumber
  puts there (the application's app_key or name, the account?) is UNCONFIRMED; a line whose
  resource is an application's app_key or name is that application's, any other is the account's.
* 使用量类型 / Usage Type, 使用量 / Usage, 使用量单位 / Usage Unit: the usage charged. Call time is
  told from SMS and number rent by its unit (分钟 / minute, or 秒 / second); the unit names used
  on PrivateNumber's lines are UNCONFIRMED.
* 单价 / Unit Price: given for simple pricing (使用量 × 单价).
* 应付金额 / Amount Due (消费金额 in the transaction detail): what is charged after discounts;
  Huawei documents 应付金额 = (使用量 / 使用量转换比率) × 单价 − 优惠金额 − 抹零金额.

A bill of one line per hour tells each hour's minutes and amount, not which calls made them.
PrivateNumber's own console lists the calls (业务详单 > 呼叫详单, 31 days), whose ids Huawei's
FAQ calls 呼叫记录ID (the CDR's icid) and 绑定ID (its subscriptionId); a file whose lines carry
them is matched call by call. Those column names as headers of an export are UNCONFIRMED, as are
APP_Key and 呼叫结束时间 (read when present). Sources (more in ``docs/billing.md``):

* https://support.huaweicloud.com/usermanual-billing/bills-topic_50000004.html (使用量类型明细账单
  文件格式: 账期 … 消费时间, 使用开始时间, 使用结束时间) and its English page under ``/en-us/``;
* https://support.huaweicloud.com/usermanual-billing/bills-topic_50000001.html (应付金额);
* https://support.huaweicloud.com/usermanual-billing/bills-topic_new_1000102.html (流水账单, 导出);
* Huawei Cloud's PrivateNumber FAQ on huaweicloud.com (隐私号码通话费用怎么计算: 结算时以小时为周期
  扣费, 优先扣除已购买套餐包内的额度; the 业务详单's 呼叫记录ID and 绑定ID; 无法自动按应用或X号码
  统计费用).

**The comparison**, by hour and application, with the CDRs behind every difference:

* a call on the bill with no CDR here: **billed, never pushed** (the loss the console exists to
  prevent): counted, listed first, a red line on the page and an alert;
* a call here with billable minutes that is not on the bill: pushed, not billed;
* a different length (minutes), else a different amount (price, or the package's share), else a
  different hour (Huawei's hour against the hour its callEndTime falls in here);
* lines without a call id: the hour's minutes and amount against the console's for that hour
  (of the application, or of every application for the account's lines).

Our amount of a call is its excess minutes (``billing.settlement``: the package minutes go to
the hour's calls in the order they ended) times its direction's price in the month's tariff.

**The job.** The upload is read once in the request (a file without the columns is refused at
once) and kept; a worker reads it again within the limits of ``bindings.uploads`` (size, rows,
cells, columns, XLSX bombs), compares, and writes the differences in one transaction; the page
polls its progress. A worker that dies leaves its lease to run out: the sweeper runs it again
from the start (``billing.jobs``). Running twice gives the same differences.

One module per part, all re-exported here: ``reading``, ``comparing``, ``job``.
"""

from __future__ import annotations

from billing.reconcile.comparing import (
    Comparison,
    OurCall,
    compare,
    our_calls,
)
from billing.reconcile.job import (
    FINISHED,
    RUNNING,
    abandon,
    fail,
    progress,
    run,
    start,
)
from billing.reconcile.reading import (
    BEIJING,
    CALL_USAGE_WORDS,
    DIFFERENCES_KEPT,
    ERRORS_SHOWN,
    FORMATS,
    HEADER_SEARCH_ROWS,
    MINUTE_UNITS,
    PROGRESS_EVERY,
    SECOND_UNITS,
    SERVICE_NAMES,
    Bill,
    BillLine,
    BillRefused,
    check_file,
    file_rows,
    find_header,
    header_columns,
    limits,
    parse_number,
    parse_time,
    read_bill,
)

__all__ = [
    "BEIJING",
    "CALL_USAGE_WORDS",
    "DIFFERENCES_KEPT",
    "ERRORS_SHOWN",
    "FINISHED",
    "FORMATS",
    "HEADER_SEARCH_ROWS",
    "MINUTE_UNITS",
    "PROGRESS_EVERY",
    "RUNNING",
    "SECOND_UNITS",
    "SERVICE_NAMES",
    "Bill",
    "BillLine",
    "BillRefused",
    "Comparison",
    "OurCall",
    "abandon",
    "check_file",
    "compare",
    "fail",
    "file_rows",
    "find_header",
    "header_columns",
    "limits",
    "our_calls",
    "parse_number",
    "parse_time",
    "progress",
    "read_bill",
    "run",
    "start",
]
