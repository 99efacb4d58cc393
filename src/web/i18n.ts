/**
 * English and Simplified Chinese. The choice is kept in localStorage; `t` reads the current
 * language, and the app re-renders everything when it changes.
 */

import { ZH_TERMS } from '../rules/explanationZh.js';
import { FIRMWARE_EN, FIRMWARE_ZH } from './firmware/strings.js';

export type Lang = 'en' | 'zh';
const STORAGE_KEY = 'gridhead.lang';

const en = {
  'app.title': 'gridhead dispatch',
  'nav.overview': 'Overview', 'nav.alarms': 'Alarms', 'nav.loadControl': 'Load control', 'nav.meters': 'Meters',
  'nav.logout': 'Log out', 'nav.language': '中文',
  'login.title': 'Sign in', 'login.user': 'User name', 'login.password': 'Password', 'login.submit': 'Sign in', 'login.failed': 'Sign-in failed',
  'role.viewer': 'viewer', 'role.operator': 'operator', 'role.admin': 'administrator', 'role.billing': 'billing', 'role.field': 'field crew',
  'overview.total': 'Total load', 'overview.collection': 'Collection success today', 'overview.updated': 'Updated',
  'overview.areas': 'Areas', 'overview.curve': 'Load today vs yesterday', 'overview.today': 'Today', 'overview.yesterday': 'Yesterday', 'overview.limit': 'Limit',
  'overview.noLive': 'Live overview not available on this station.',
  'area.meters': '{n}/{m} meters reporting', 'area.alarms': '{n} open alarms', 'area.abnormal': 'Abnormal',
  'state.normal': 'normal', 'state.alarm': 'alarm', 'state.abnormal': 'abnormal',
  'alarms.title': 'Alarms', 'alarms.severity': 'Severity', 'alarms.subject': 'Subject', 'alarms.explanation': 'Explanation', 'alarms.state': 'State',
  'alarms.raised': 'Raised', 'alarms.area': 'Area', 'alarms.all': 'All', 'alarms.ack': 'Acknowledge', 'alarms.comment': 'Comment',
  'alarms.confirmAck': 'Confirm acknowledgement', 'alarms.none': 'No alarms', 'alarms.live': 'live', 'alarms.reconnecting': 'reconnecting…',
  'alarms.showCleared': 'Show cleared',
  'alarmState.raised': 'raised', 'alarmState.acknowledged': 'acknowledged', 'alarmState.cleared': 'cleared',
  'meters.title': 'Meters', 'meters.search': 'Search meter id, name or customer', 'meters.customer': 'Customer', 'meters.area': 'Area',
  'meter.live': 'Live values', 'meter.phase': 'Phase', 'meter.total': 'Total', 'meter.quantity': 'Quantity',
  'meter.curve': 'Load curve', 'meter.registers': 'Energy registers', 'meter.events': 'Events', 'meter.control': 'Relay and limiter',
  'meter.collection': 'Collection history', 'meter.relay': 'Relay', 'meter.limit': 'Power limit', 'meter.connected': 'connected',
  'meter.disconnected': 'disconnected', 'meter.unknown': 'unknown', 'meter.noLimit': 'no limit', 'meter.online': 'Online', 'meter.lastSeen': 'Last seen',
  'meter.read': 'Read now', 'meter.reading': 'Reading…', 'meter.readDone': 'Read {n} values in {ms} ms', 'meter.protected': 'protected (保电)',
  'meter.noEvents': 'No events', 'meter.day': '1 day', 'meter.week': '1 week', 'meter.month': '4 weeks', 'meter.date': 'Date', 'meter.rate': 'Success',
  'cmd.disconnect': 'Disconnect', 'cmd.reconnect': 'Reconnect', 'cmd.setLimit': 'Set limit', 'cmd.confirmTitle': 'Confirm command',
  'cmd.confirmText': '{cmd} meter {meter} of customer {customer}?', 'cmd.noCustomer': '(no customer reference)', 'cmd.limitKw': 'Limit (kW)',
  'cmd.reason': 'Reason', 'cmd.send': 'Send', 'cmd.cancel': 'Cancel', 'cmd.close': 'Close', 'cmd.status': 'Status',
  'lc.title': 'Load-control programs', 'lc.state': 'State', 'lc.round': 'Round', 'lc.load': 'Load', 'lc.limit': 'Limit', 'lc.basis': 'Basis',
  'lc.preview': 'Dry-run preview', 'lc.tripped': 'Meters acted on', 'lc.none': 'No programs configured', 'lc.dryRun': 'dry run',
  'lc.would': 'Would do now', 'lc.restore': 'Restore', 'lc.phase': 'Phase',
  'lcState.disabled': 'disabled', 'lcState.armed': 'armed', 'lcState.alarming': 'alarming', 'lcState.round': 'round {n}', 'lcState.restoring': 'restoring',
  'common.loading': 'Loading…', 'common.error': 'Error', 'common.none': '—', 'common.time': 'Time', 'common.value': 'Value',
  'common.id': 'ID', 'common.csv': 'Export CSV',
  'sev.critical': 'critical', 'sev.major': 'major', 'sev.minor': 'minor', 'sev.warning': 'warning', 'sev.info': 'info',
  'areaKind.region': 'region', 'areaKind.substation': 'substation', 'areaKind.feeder': 'feeder', 'areaKind.transformer': 'transformer area',
  'subject.meter': 'meter', 'subject.area': 'area', 'subject.terminal': 'terminal', 'subject.station': 'station',
  'meter.isOnline': 'online', 'meter.isOffline': 'offline',
  'relaySource.command': 'command read-back', 'relaySource.event': 'meter event', 'relaySource.read': 'read',
  'cmdStatus.pending': 'pending', 'cmdStatus.sent': 'sent', 'cmdStatus.acknowledged': 'acknowledged', 'cmdStatus.verified': 'verified',
  'cmdStatus.failed': 'failed', 'cmdStatus.timed-out': 'timed out', 'cmdStatus.cancelled': 'cancelled', 'cmdStatus.refused': 'refused', 'cmdStatus.open': 'open',
  'cmdStatus.done': 'done', 'cmdStatus.partial': 'partial',
  'cmdType.disconnect': 'disconnect', 'cmdType.reconnect': 'reconnect', 'cmdType.set-limit': 'set limit', 'cmdType.clear-limit': 'clear limit', 'cmdType.limit': 'limit',
  'lc.program': 'Program', 'lc.runPreview': 'Run', 'lcKind.period': 'period power control', 'lcKind.rest-day': 'rest-day control',
  'lcKind.suspension': 'suspension control', 'lcKind.floating-down': 'floating-down control', 'lcKind.monthly-energy': 'monthly energy control',
  'lcKind.purchase-energy': 'purchase energy control', 'lc.purchase': 'Purchased energy', 'lc.purchased': 'Purchased', 'lc.consumed': 'Used',
  'lc.remaining': 'Remaining', 'lc.purchaseId': 'Purchase',
  'lcOutcome.would-act': 'would act', 'lcOutcome.skipped-protected': 'skipped, protected', 'lcOutcome.unknown-meter': 'unknown meter', 'lcOutcome.already-done': 'already done',
  'nav.analysis': 'Analysis', 'an.view.load': 'Load curve', 'an.view.profile': 'Daily profile', 'an.view.day': 'Day against day', 'an.view.month': 'Month against month', 'an.view.areas': 'Area against area', 'an.view.lineLoss': 'Line loss', 'an.view.ranking': 'Collection ranking', 'an.area': 'Area', 'an.from': 'From', 'an.to': 'To', 'an.date': 'Date', 'an.a': 'A', 'an.b': 'B', 'an.step': 'Step', 'an.figure': 'Figure', 'an.energy': 'Energy (kWh)', 'an.peak': 'Peak', 'an.valley': 'Valley', 'an.average': 'Average', 'an.loadFactor': 'Load factor', 'an.maxDemand': 'Maximum demand', 'an.missing': 'Missing intervals', 'an.difference': 'Difference B − A', 'an.supply': 'Supply (kWh)', 'an.customers': 'Customers (kWh)', 'an.loss': 'Loss (kWh)', 'an.lossPct': 'Loss rate', 'an.status': 'Status', 'an.complete': 'complete', 'an.noSupply': 'no supply meter configured', 'an.noSupplyReading': 'supply meter {m} has no reading at both period edges', 'an.missingCustomers': '{n} of {m} customer meters without data', 'an.expected': 'Expected', 'an.collected': 'Collected', 'an.rate': 'Success rate', 'an.kind': 'Kind', 'an.allAreas': 'All areas', 'an.noData': 'No data', 'an.load': 'Load (kW)', 'an.minutes': '{n} min',
  'nav.fees': 'Fees', 'fee.title': 'Fee control', 'fee.searchAccount': 'Account id', 'fee.open': 'Open', 'fee.account': 'Account',
  'fee.group.near': 'Near a warning', 'fee.group.waiting': 'Waiting for a disconnection window', 'fee.group.disconnected': 'Disconnected',
  'fee.group.reconnecting': 'Reconnecting', 'fee.balance': 'Balance', 'fee.stage': 'Fee-control stage', 'fee.mode': 'Payment mode', 'fee.tariff': 'Tariff',
  'fee.thresholds': 'Thresholds', 'fee.thresholdText': 'first warning {first}, second {second}, disconnection at {limit}, reconnection from {reconnect}',
  'fee.nextWindow': 'Next window', 'fee.disconnectedSince': 'Disconnected since', 'fee.reconnected': 'Reconnected', 'fee.ledger': 'Ledger',
  'fee.noLedger': 'No ledger rows', 'fee.kind': 'Kind', 'fee.amount': 'Amount', 'fee.period': 'Period', 'fee.reference': 'Reference', 'fee.newer': 'Newer',
  'fee.older': 'Older', 'fee.explanation': 'Tariff explanation of the latest charges', 'fee.noCharges': 'No charges yet', 'fee.line': 'Line',
  'fee.quantity': 'Quantity', 'fee.price': 'Price', 'fee.history': 'Warnings and disconnections', 'fee.noHistory': 'Nothing decided yet', 'fee.action': 'Action',
  'fee.why': 'Why', 'fee.pay.title': 'Record payment', 'fee.pay.amount': 'Amount ({currency})', 'fee.pay.paymentId': 'Payment reference',
  'fee.pay.record': 'Record', 'fee.pay.done': 'Credited {amount}; balance now {balance}', 'fee.pay.replayed': 'already recorded',
  'fee.pay.badFormat': 'Type an amount such as 120 or 120.50', 'fee.pay.badDigits': 'At most {digits} decimals',
  'fee.pay.badPositive': 'The amount must be more than zero', 'fee.pay.badLarge': 'The amount is too large', 'fee.arrears': 'Arrears by area',
  'fee.accounts': 'Accounts', 'fee.debt': 'Owed', 'fee.days': 'days', 'fee.noArea': '(no area)', 'fee.recovery': 'Recovery rate', 'fee.month': 'Month',
  'fee.paid': 'Paid', 'fee.billed': 'Billed', 'fee.rate': 'Rate', 'fee.disconnections': 'Disconnected for fees', 'fee.duration': 'Duration',
  'fee.reconnectionTimes': 'Payment to reconnection', 'fee.last30': 'Last 30 days', 'fee.count': '{n} reconnections', 'fee.median': 'median',
  'fee.dur.d': '{n} d', 'fee.dur.h': '{n} h', 'fee.dur.min': '{n} min', 'fee.dur.s': '{n} s', 'feeStage.normal': 'normal',
  'feeStage.warned-first': 'first warning sent', 'feeStage.warned-second': 'second warning sent', 'feeStage.disconnect-pending': 'waiting for a window',
  'feeStage.disconnected': 'disconnected', 'feeStage.reconnecting': 'reconnecting', 'feeMode.prepaid': 'prepaid', 'feeMode.postpaid': 'post-paid',
  'fee.mc.title': 'Credit kept in the meters', 'fee.mc.meter': 'Meter', 'fee.mc.credit': 'Credit in the meter', 'fee.mc.station': 'Station balance',
  'fee.mc.difference': 'Meter − station', 'fee.mc.compared': 'Compared', 'fee.mc.account': 'Mode, status', 'fee.mc.credits': 'Credits', 'fee.mc.readAt': 'Read',
  'fee.mc.tolerance': 'Agree within {tolerance}', 'mcCompare.agree': 'agree', 'mcCompare.mismatch': 'disagree', 'mcCompare.incomparable': 'cannot compare',
  'mcMode.credit': 'credit', 'mcMode.prepayment': 'prepayment', 'mcStatus.new': 'new', 'mcStatus.active': 'active', 'mcStatus.closed': 'closed',
  'feeKind.charge': 'charge', 'feeKind.provisional-charge': 'provisional charge', 'feeKind.true-up': 'true-up', 'feeKind.payment': 'payment',
  'feeKind.reversal': 'reversal', 'feeKind.adjustment': 'adjustment', 'feeAction.warn-first': 'first warning', 'feeAction.warn-second': 'second warning',
  'feeAction.disconnect': 'disconnect', 'feeAction.reconnect': 'reconnect', 'feeAction.wait': 'wait', 'feeAction.none': 'none', 'feeReason.night': 'night',
  'feeReason.weekend': 'weekend', 'feeReason.holiday': 'public holiday', 'feeReason.emergency': 'emergency declared', 'feeReason.protected': 'protected account',
  'feeReason.warning-too-recent': 'last warning too recent', 'feeReason.paid': 'paid', 'feeReason.reconnected': 'reconnection verified',
  'feeReason.exhausted': 'balance exhausted', 'feeReason.below-first-warning': 'below the first warning',
  'feeReason.below-second-warning': 'below the second warning',
  'nav.workflows': 'Workflows', 'nav.workOrders': 'Work orders',
  'wf.title': 'Workflows', 'wf.new': 'New process', 'wf.instances': 'Instances', 'wf.none': 'No process deployed yet', 'wf.key': 'Key', 'wf.name': 'Name',
  'wf.version': 'Version', 'wf.versions': '{n} versions', 'wf.deployedBy': 'Deployed by', 'wf.deployedAt': 'Deployed', 'wf.shipped': 'Shipped', 'wf.yes': 'yes', 'wf.no': 'no',
  'wf.deployAdminOnly': 'Only an administrator deploys processes.', 'wf.noCatalogue': 'Actions and roles could not be loaded', 'wf.newProcessName': 'New process',
  'wf.import': 'Import .bpmn', 'wf.export': 'Export .bpmn', 'wf.check': 'Check', 'wf.deploy': 'Deploy', 'wf.deployed': 'Deployed {key} version {version}',
  'wf.checkOk': 'No problems found', 'wf.problems': '{n} errors found', 'wf.warningsOnly': 'No errors; {n} warnings (deployment allowed)', 'wf.refused': 'Deployment refused: {n} errors', 'wf.document': '(document)',
  'wf.action': 'Station action', 'wf.choose': '(choose)', 'wf.unknown': 'unknown', 'wf.undeclared': 'not a parameter of this action',
  'wf.workOrderType': 'Work order type', 'wf.role': 'Role', 'wf.noRole': '(no role)', 'wf.assignee': 'Assignee (user name)', 'wf.due': 'Due after',
  'wf.durationHint': 'ISO 8601 duration, e.g. PT4H or P3D, or ${variable}', 'wf.dateHint': 'ISO 8601 date and time with offset, e.g. 2025-06-01T08:00:00+08:00',
  'wf.badDuration': 'Not an ISO 8601 duration', 'wf.badDate': 'Not an ISO 8601 date and time with offset', 'wf.badKey': 'Letters, digits, _ . - only, not starting with a digit',
  'wf.timer': 'Timer', 'wf.timerDuration': 'Wait for', 'wf.timerDate': 'Wait until', 'wf.message': 'Message name',
  'wf.messageHint': 'alarm-cleared and payment are sent by the station; other names through the API', 'wf.defaultFlow': 'Default flow',
  'wf.condition': 'Condition', 'wf.conditionHint': 'Expression on process variables, e.g. ${environment.variables.outcome}',
  'wf.palette.userTask': 'Create user task (work order)', 'wf.palette.serviceTask': 'Create service task (station action)', 'wf.palette.timer': 'Create timer event',
  'wf.palette.message': 'Create message event', 'wf.palette.parallel': 'Create parallel gateway',
  'wf.type.Process': 'Process', 'wf.type.StartEvent': 'Start event', 'wf.type.EndEvent': 'End event', 'wf.type.IntermediateCatchEvent': 'Intermediate event',
  'wf.type.BoundaryEvent': 'Boundary event', 'wf.type.ServiceTask': 'Service task', 'wf.type.UserTask': 'User task', 'wf.type.ExclusiveGateway': 'Exclusive gateway',
  'wf.type.ParallelGateway': 'Parallel gateway', 'wf.type.EventBasedGateway': 'Event-based gateway', 'wf.type.SequenceFlow': 'Sequence flow',
  'wf.process': 'Process', 'wf.status': 'Status', 'wf.trigger': 'Trigger', 'wf.businessKey': 'Business key', 'wf.waiting': 'Waiting in', 'wf.started': 'Started',
  'wf.ended': 'Ended', 'wf.noInstances': 'No instances', 'wf.first': 'First page', 'wf.next': 'Next page', 'wf.start': 'Start instance',
  'wf.chooseProcess': 'Choose a process', 'wf.variableName': 'variable', 'wf.variableValue': 'value', 'wf.addVariable': 'Add variable',
  'wf.legendWaiting': 'waiting', 'wf.legendDone': 'finished', 'wf.element': 'Element', 'wf.since': 'Since', 'wf.detail': 'Detail', 'wf.variables': 'Variables',
  'wf.history': 'History', 'wf.event': 'Event', 'wf.sendMessage': 'Send message', 'wf.messageVariables': 'variables as JSON (optional)',
  'wf.badJson': 'The variables are not valid JSON', 'wf.cancelInstance': 'Cancel instance',
  'wfStatus.running': 'running', 'wfStatus.completed': 'completed', 'wfStatus.failed': 'failed', 'wfStatus.cancelled': 'cancelled',
  'wfTrigger.alarm': 'alarm', 'wfTrigger.fee': 'fee control', 'wfTrigger.api': 'API', 'wfTrigger.dashboard': 'dashboard',
  'wfEvent.start': 'started', 'wfEvent.end': 'finished', 'wfEvent.wait': 'waiting', 'wfEvent.timer': 'timer', 'wfEvent.message': 'message',
  'wfEvent.discard': 'discarded', 'wfEvent.error': 'error', 'wfEvent.resume': 'resumed',
  'wo.mine': 'My work orders', 'wo.myRole': 'Open orders for {role}', 'wo.all': 'All work orders', 'wo.none': 'No work orders', 'wo.number': 'Number',
  'wo.type': 'Type', 'wo.titleField': 'Title', 'wo.meter': 'Meter', 'wo.area': 'Area', 'wo.assignee': 'Assignee', 'wo.role': 'Role', 'wo.due': 'Due',
  'wo.state': 'State', 'wo.overdue': 'overdue', 'wo.customer': 'Customer', 'wo.escalations': 'Escalations', 'wo.source': 'Workflow', 'wo.start': 'Start work',
  'wo.assign': 'Assign', 'wo.cancel': 'Cancel order', 'wo.complete': 'Complete', 'wo.resultText': 'Remarks', 'wo.comments': 'Comments',
  'wo.noComments': 'No comments', 'wo.addComment': 'Add comment', 'wo.by': 'By',
  'woState.open': 'open', 'woState.assigned': 'assigned', 'woState.in-progress': 'in progress', 'woState.done': 'done', 'woState.cancelled': 'cancelled',
  'woEvent.created': 'created', 'woEvent.assigned': 'assigned', 'woEvent.started': 'started', 'woEvent.escalated': 'escalated', 'woEvent.completed': 'completed',
  'woEvent.cancelled': 'cancelled', 'woEvent.commented': 'commented',
  'device.title': 'Device', 'device.manufacturer': 'Manufacturer', 'device.model': 'Model', 'device.serial': 'Serial number',
  'device.firmware': 'Firmware', 'device.signature': 'Firmware signature', 'device.hardware': 'Hardware version', 'device.readAt': 'Nameplate read',
  'device.installed': 'Installed', 'device.removed': 'Removed', 'device.history': 'Firmware history', 'device.from': 'From', 'device.to': 'To',
  'device.source': 'Source', 'device.noHistory': 'No firmware changes', 'device.replacements': 'Replacements', 'device.oldFinal': 'Final read (old)',
  'device.newInitial': 'Initial read (new)', 'device.noReplacements': 'No replacements', 'device.unknown': 'not in the device register yet',
  'deviceSource.read': 'read', 'deviceSource.campaign': 'campaign', 'deviceSource.ota': 'OTA',
  ...FIRMWARE_EN,
};

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  'app.title': 'gridhead 调度',
  'nav.overview': '总览', 'nav.alarms': '告警', 'nav.loadControl': '负荷控制', 'nav.meters': '电表',
  'nav.logout': '退出', 'nav.language': 'English',
  'login.title': '登录', 'login.user': '用户名', 'login.password': '密码', 'login.submit': '登录', 'login.failed': '登录失败',
  'role.viewer': '查看员', 'role.operator': '操作员', 'role.admin': '管理员', 'role.billing': '计费', 'role.field': '现场人员',
  'overview.total': '总负荷', 'overview.collection': '今日采集成功率', 'overview.updated': '更新于',
  'overview.areas': '区域', 'overview.curve': '今日与昨日负荷曲线', 'overview.today': '今日', 'overview.yesterday': '昨日', 'overview.limit': '限额',
  'overview.noLive': '本主站暂无实时总览。',
  'area.meters': '{n}/{m} 表在线上报', 'area.alarms': '{n} 条未结告警', 'area.abnormal': '异常',
  'state.normal': '正常', 'state.alarm': '告警', 'state.abnormal': '异常',
  'alarms.title': '告警', 'alarms.severity': '级别', 'alarms.subject': '对象', 'alarms.explanation': '说明', 'alarms.state': '状态',
  'alarms.raised': '发生时间', 'alarms.area': '区域', 'alarms.all': '全部', 'alarms.ack': '确认', 'alarms.comment': '备注',
  'alarms.confirmAck': '确认告警', 'alarms.none': '无告警', 'alarms.live': '实时', 'alarms.reconnecting': '重新连接中…',
  'alarms.showCleared': '显示已恢复',
  'alarmState.raised': '未确认', 'alarmState.acknowledged': '已确认', 'alarmState.cleared': '已恢复',
  'meters.title': '电表', 'meters.search': '搜索表号、名称或用户', 'meters.customer': '用户', 'meters.area': '区域',
  'meter.live': '实时数据', 'meter.phase': '相', 'meter.total': '总', 'meter.quantity': '量',
  'meter.curve': '负荷曲线', 'meter.registers': '电能示值', 'meter.events': '事件', 'meter.control': '继电器与限荷',
  'meter.collection': '采集历史', 'meter.relay': '继电器', 'meter.limit': '功率限值', 'meter.connected': '合闸',
  'meter.disconnected': '拉闸', 'meter.unknown': '未知', 'meter.noLimit': '无限值', 'meter.online': '在线', 'meter.lastSeen': '最后通信',
  'meter.read': '立即召测', 'meter.reading': '召测中…', 'meter.readDone': '召测 {n} 项，用时 {ms} ms', 'meter.protected': '保电',
  'meter.noEvents': '无事件', 'meter.day': '1 天', 'meter.week': '1 周', 'meter.month': '4 周', 'meter.date': '日期', 'meter.rate': '成功率',
  'cmd.disconnect': '拉闸', 'cmd.reconnect': '合闸', 'cmd.setLimit': '设定限值', 'cmd.confirmTitle': '确认命令',
  'cmd.confirmText': '对用户 {customer} 的电表 {meter} 执行{cmd}？', 'cmd.noCustomer': '（无用户编号）', 'cmd.limitKw': '限值 (kW)',
  'cmd.reason': '原因', 'cmd.send': '发送', 'cmd.cancel': '取消', 'cmd.close': '关闭', 'cmd.status': '状态',
  'lc.title': '负荷控制方案', 'lc.state': '状态', 'lc.round': '轮次', 'lc.load': '负荷', 'lc.limit': '限额', 'lc.basis': '依据',
  'lc.preview': '预演（不执行）', 'lc.tripped': '已控制电表', 'lc.none': '未配置方案', 'lc.dryRun': '预演模式',
  'lc.would': '当前将执行', 'lc.restore': '恢复', 'lc.phase': '阶段',
  'lcState.disabled': '已停用', 'lcState.armed': '已投入', 'lcState.alarming': '告警中', 'lcState.round': '第 {n} 轮', 'lcState.restoring': '恢复中',
  'common.loading': '加载中…', 'common.error': '错误', 'common.none': '—', 'common.time': '时间', 'common.value': '数值',
  'common.id': '编号', 'common.csv': '导出 CSV',
  'sev.critical': '紧急', 'sev.major': '严重', 'sev.minor': '次要', 'sev.warning': '警告', 'sev.info': '提示',
  'areaKind.region': '区域', 'areaKind.substation': '变电站', 'areaKind.feeder': '馈线', 'areaKind.transformer': '台区',
  'subject.meter': '电表', 'subject.area': '区域', 'subject.terminal': '终端', 'subject.station': '主站',
  'meter.isOnline': '在线', 'meter.isOffline': '离线',
  'relaySource.command': '命令回读', 'relaySource.event': '电表事件', 'relaySource.read': '召测',
  'cmdStatus.pending': '待发送', 'cmdStatus.sent': '已发送', 'cmdStatus.acknowledged': '已应答', 'cmdStatus.verified': '已核实',
  'cmdStatus.failed': '失败', 'cmdStatus.timed-out': '超时', 'cmdStatus.cancelled': '已取消', 'cmdStatus.refused': '已拒绝', 'cmdStatus.open': '执行中',
  'cmdStatus.done': '已完成', 'cmdStatus.partial': '部分完成',
  'cmdType.disconnect': '拉闸', 'cmdType.reconnect': '合闸', 'cmdType.set-limit': '设定限值', 'cmdType.clear-limit': '解除限值', 'cmdType.limit': '限荷',
  'lc.program': '方案', 'lc.runPreview': '执行预演', 'lcKind.period': '时段功控', 'lcKind.rest-day': '厂休控',
  'lcKind.suspension': '营业报停控', 'lcKind.floating-down': '当前功率下浮控', 'lcKind.monthly-energy': '月电控',
  'lcKind.purchase-energy': '购电控', 'lc.purchase': '购电量', 'lc.purchased': '已购', 'lc.consumed': '已用',
  'lc.remaining': '剩余', 'lc.purchaseId': '购电单',
  'lcOutcome.would-act': '将执行', 'lcOutcome.skipped-protected': '保电，跳过', 'lcOutcome.unknown-meter': '未知电表', 'lcOutcome.already-done': '已执行',
  'nav.analysis': '分析', 'an.view.load': '负荷曲线', 'an.view.profile': '日负荷特性', 'an.view.day': '日对比', 'an.view.month': '月对比', 'an.view.areas': '区域对比', 'an.view.lineLoss': '台区线损', 'an.view.ranking': '采集成功率排名', 'an.area': '区域', 'an.from': '开始', 'an.to': '结束', 'an.date': '日期', 'an.a': 'A', 'an.b': 'B', 'an.step': '间隔', 'an.figure': '指标', 'an.energy': '电量 (kWh)', 'an.peak': '峰值', 'an.valley': '谷值', 'an.average': '平均负荷', 'an.loadFactor': '负荷率', 'an.maxDemand': '最大需量', 'an.missing': '缺失时段', 'an.difference': '差值 B − A', 'an.supply': '供电量 (kWh)', 'an.customers': '用户电量 (kWh)', 'an.loss': '损失电量 (kWh)', 'an.lossPct': '线损率', 'an.status': '状态', 'an.complete': '完整', 'an.noSupply': '未配置供电表', 'an.noSupplyReading': '供电表 {m} 在统计起止时刻无读数', 'an.missingCustomers': '{m} 块用户表中 {n} 块无数据', 'an.expected': '应采', 'an.collected': '实采', 'an.rate': '成功率', 'an.kind': '类型', 'an.allAreas': '全部区域', 'an.noData': '无数据', 'an.load': '负荷 (kW)', 'an.minutes': '{n} 分钟',
  'nav.fees': '费控', 'fee.title': '费控总览', 'fee.searchAccount': '账户编号', 'fee.open': '打开', 'fee.account': '账户', 'fee.group.near': '临近告警',
  'fee.group.waiting': '等待停电时段', 'fee.group.disconnected': '已停电', 'fee.group.reconnecting': '复电中', 'fee.balance': '余额', 'fee.stage': '费控状态', 'fee.mode': '付费方式',
  'fee.tariff': '电价', 'fee.thresholds': '阈值', 'fee.thresholdText': '一级告警 {first}，二级告警 {second}，停电 {limit}，复电 {reconnect} 起', 'fee.nextWindow': '下一可停电时段',
  'fee.disconnectedSince': '停电时间', 'fee.reconnected': '复电时间', 'fee.ledger': '账务流水', 'fee.noLedger': '无流水', 'fee.kind': '类型', 'fee.amount': '金额',
  'fee.period': '计费区间', 'fee.reference': '凭证', 'fee.newer': '较新', 'fee.older': '较早', 'fee.explanation': '最近电费的计费说明', 'fee.noCharges': '尚无电费', 'fee.line': '项目',
  'fee.quantity': '数量', 'fee.price': '单价', 'fee.history': '告警与停复电记录', 'fee.noHistory': '尚无决策', 'fee.action': '动作', 'fee.why': '原因', 'fee.pay.title': '登记缴费',
  'fee.pay.amount': '金额（{currency}）', 'fee.pay.paymentId': '缴费流水号', 'fee.pay.record': '登记', 'fee.pay.done': '已入账 {amount}，当前余额 {balance}',
  'fee.pay.replayed': '此前已登记', 'fee.pay.badFormat': '请输入金额，如 120 或 120.50', 'fee.pay.badDigits': '最多 {digits} 位小数', 'fee.pay.badPositive': '金额须大于零',
  'fee.pay.badLarge': '金额过大', 'fee.arrears': '分台区欠费', 'fee.accounts': '户数', 'fee.debt': '欠费', 'fee.days': '天', 'fee.noArea': '（无台区）', 'fee.recovery': '电费回收率',
  'fee.month': '月份', 'fee.paid': '实收', 'fee.billed': '应收', 'fee.rate': '回收率', 'fee.disconnections': '欠费停电', 'fee.duration': '时长',
  'fee.reconnectionTimes': '缴费至复电时间', 'fee.last30': '近 30 天', 'fee.count': '复电 {n} 次', 'fee.median': '中位数', 'fee.dur.d': '{n} 天', 'fee.dur.h': '{n} 小时',
  'fee.dur.min': '{n} 分钟', 'fee.dur.s': '{n} 秒', 'feeStage.normal': '正常', 'feeStage.warned-first': '已发一级告警', 'feeStage.warned-second': '已发二级告警',
  'feeStage.disconnect-pending': '等待停电时段', 'feeStage.disconnected': '已停电', 'feeStage.reconnecting': '复电中', 'feeMode.prepaid': '预付费', 'feeMode.postpaid': '后付费',
  'fee.mc.title': '电表内余额（本地费控）', 'fee.mc.meter': '电表', 'fee.mc.credit': '表内可用余额', 'fee.mc.station': '主站余额', 'fee.mc.difference': '表内 − 主站',
  'fee.mc.compared': '比对', 'fee.mc.account': '模式、状态', 'fee.mc.credits': '信用', 'fee.mc.readAt': '读取时间', 'fee.mc.tolerance': '相差 {tolerance} 以内视为一致',
  'mcCompare.agree': '一致', 'mcCompare.mismatch': '不一致', 'mcCompare.incomparable': '无法比对', 'mcMode.credit': '信用模式', 'mcMode.prepayment': '预付费模式',
  'mcStatus.new': '新建', 'mcStatus.active': '启用', 'mcStatus.closed': '关闭',
  'feeKind.charge': '电费', 'feeKind.provisional-charge': '暂估电费', 'feeKind.true-up': '电费调整', 'feeKind.payment': '缴费', 'feeKind.reversal': '冲正',
  'feeKind.adjustment': '调账', 'feeAction.warn-first': '一级告警', 'feeAction.warn-second': '二级告警', 'feeAction.disconnect': '停电', 'feeAction.reconnect': '复电',
  'feeAction.wait': '等待', 'feeAction.none': '无', 'feeReason.night': '夜间', 'feeReason.weekend': '周末', 'feeReason.holiday': '法定节假日', 'feeReason.emergency': '紧急状态',
  'feeReason.protected': '保电账户', 'feeReason.warning-too-recent': '距上次告警过近', 'feeReason.paid': '已缴费', 'feeReason.reconnected': '复电已核实',
  'feeReason.exhausted': '余额耗尽', 'feeReason.below-first-warning': '低于一级告警', 'feeReason.below-second-warning': '低于二级告警',
  'nav.workflows': '流程', 'nav.workOrders': '工单',
  'wf.title': '流程', 'wf.new': '新建流程', 'wf.instances': '流程实例', 'wf.none': '尚未部署流程', 'wf.key': '标识', 'wf.name': '名称',
  'wf.version': '版本', 'wf.versions': '共 {n} 个版本', 'wf.deployedBy': '部署人', 'wf.deployedAt': '部署时间', 'wf.shipped': '主站自带', 'wf.yes': '是', 'wf.no': '否',
  'wf.deployAdminOnly': '仅管理员可部署流程。', 'wf.noCatalogue': '无法加载动作与角色', 'wf.newProcessName': '新流程',
  'wf.import': '导入 .bpmn', 'wf.export': '导出 .bpmn', 'wf.check': '校验', 'wf.deploy': '部署', 'wf.deployed': '已部署 {key} 第 {version} 版',
  'wf.checkOk': '未发现问题', 'wf.problems': '发现 {n} 个错误', 'wf.warningsOnly': '无错误；{n} 个警告（可以部署）', 'wf.refused': '部署被拒绝：{n} 个错误', 'wf.document': '（整个文档）',
  'wf.action': '主站动作', 'wf.choose': '（请选择）', 'wf.unknown': '未知', 'wf.undeclared': '非此动作的参数',
  'wf.workOrderType': '工单类型', 'wf.role': '角色', 'wf.noRole': '（无角色）', 'wf.assignee': '处理人（用户名）', 'wf.due': '限时',
  'wf.durationHint': 'ISO 8601 时长，如 PT4H、P3D，或 ${变量}', 'wf.dateHint': '带时区的 ISO 8601 日期时间，如 2025-06-01T08:00:00+08:00',
  'wf.badDuration': '不是 ISO 8601 时长', 'wf.badDate': '不是带时区的 ISO 8601 日期时间', 'wf.badKey': '仅限字母、数字、_ . -，且不以数字开头',
  'wf.timer': '定时', 'wf.timerDuration': '等待时长', 'wf.timerDate': '等待至', 'wf.message': '消息名称',
  'wf.messageHint': 'alarm-cleared（告警恢复）与 payment（缴费）由主站发送；其他名称经接口发送', 'wf.defaultFlow': '默认路径',
  'wf.condition': '条件', 'wf.conditionHint': '基于流程变量的表达式，如 ${environment.variables.outcome}',
  'wf.palette.userTask': '创建人工任务（工单）', 'wf.palette.serviceTask': '创建服务任务（主站动作）', 'wf.palette.timer': '创建定时事件',
  'wf.palette.message': '创建消息事件', 'wf.palette.parallel': '创建并行网关',
  'wf.type.Process': '流程', 'wf.type.StartEvent': '开始事件', 'wf.type.EndEvent': '结束事件', 'wf.type.IntermediateCatchEvent': '中间事件',
  'wf.type.BoundaryEvent': '边界事件', 'wf.type.ServiceTask': '服务任务', 'wf.type.UserTask': '人工任务', 'wf.type.ExclusiveGateway': '排他网关',
  'wf.type.ParallelGateway': '并行网关', 'wf.type.EventBasedGateway': '事件网关', 'wf.type.SequenceFlow': '顺序流',
  'wf.process': '流程', 'wf.status': '状态', 'wf.trigger': '触发', 'wf.businessKey': '业务编号', 'wf.waiting': '当前环节', 'wf.started': '开始时间',
  'wf.ended': '结束时间', 'wf.noInstances': '无流程实例', 'wf.first': '第一页', 'wf.next': '下一页', 'wf.start': '启动流程',
  'wf.chooseProcess': '请选择流程', 'wf.variableName': '变量', 'wf.variableValue': '值', 'wf.addVariable': '添加变量',
  'wf.legendWaiting': '等待中', 'wf.legendDone': '已完成', 'wf.element': '环节', 'wf.since': '开始于', 'wf.detail': '详情', 'wf.variables': '流程变量',
  'wf.history': '历史', 'wf.event': '事件', 'wf.sendMessage': '发送消息', 'wf.messageVariables': '变量（JSON，可选）',
  'wf.badJson': '变量不是有效的 JSON', 'wf.cancelInstance': '终止流程',
  'wfStatus.running': '运行中', 'wfStatus.completed': '已完成', 'wfStatus.failed': '失败', 'wfStatus.cancelled': '已终止',
  'wfTrigger.alarm': '告警', 'wfTrigger.fee': '费控', 'wfTrigger.api': '接口', 'wfTrigger.dashboard': '调度台',
  'wfEvent.start': '开始', 'wfEvent.end': '完成', 'wfEvent.wait': '等待', 'wfEvent.timer': '定时', 'wfEvent.message': '消息',
  'wfEvent.discard': '跳过', 'wfEvent.error': '错误', 'wfEvent.resume': '恢复',
  'wo.mine': '我的工单', 'wo.myRole': '{role}待领工单', 'wo.all': '全部工单', 'wo.none': '无工单', 'wo.number': '工单号',
  'wo.type': '类型', 'wo.titleField': '标题', 'wo.meter': '电表', 'wo.area': '台区', 'wo.assignee': '处理人', 'wo.role': '角色', 'wo.due': '限期',
  'wo.state': '状态', 'wo.overdue': '已超期', 'wo.customer': '用户', 'wo.escalations': '升级次数', 'wo.source': '所属流程', 'wo.start': '开始处理',
  'wo.assign': '派工', 'wo.cancel': '撤销工单', 'wo.complete': '完成', 'wo.resultText': '备注', 'wo.comments': '意见',
  'wo.noComments': '无意见', 'wo.addComment': '添加意见', 'wo.by': '操作人',
  'woState.open': '待派工', 'woState.assigned': '已派工', 'woState.in-progress': '处理中', 'woState.done': '已完成', 'woState.cancelled': '已撤销',
  'woEvent.created': '创建', 'woEvent.assigned': '派工', 'woEvent.started': '开始处理', 'woEvent.escalated': '超期升级', 'woEvent.completed': '完成',
  'woEvent.cancelled': '撤销', 'woEvent.commented': '意见',
  'device.title': '设备档案', 'device.manufacturer': '制造商', 'device.model': '型号', 'device.serial': '出厂编号',
  'device.firmware': '固件版本', 'device.signature': '固件签名', 'device.hardware': '硬件版本', 'device.readAt': '铭牌读取时间',
  'device.installed': '安装时间', 'device.removed': '拆除时间', 'device.history': '固件变更记录', 'device.from': '原版本', 'device.to': '新版本',
  'device.source': '来源', 'device.noHistory': '无固件变更', 'device.replacements': '换表记录', 'device.oldFinal': '旧表止码',
  'device.newInitial': '新表起码', 'device.noReplacements': '无换表记录', 'device.unknown': '设备档案中暂无记录',
  'deviceSource.read': '读取', 'deviceSource.campaign': '升级任务', 'deviceSource.ota': '远程升级',
  ...FIRMWARE_ZH,
};

const DICTIONARIES: Record<Lang, Record<Key, string>> = { en, zh };

/** The browser globals used here, each absent outside a browser (the unit tests run in Node). */
interface BrowserHost {
  readonly localStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  readonly document?: { readonly documentElement: { lang: string } };
  readonly navigator?: { readonly language: string };
}
const host = globalThis as BrowserHost;
let current: Lang = initialLang();
const listeners = new Set<() => void>();

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return DICTIONARIES[current][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/**
 * A word that comes from the station as data (a severity, an area kind, a command status):
 * its label under `prefix`, or the word itself when the dashboard has none.
 */
export function label(prefix: string, word: string): string {
  const key = `${prefix}.${word}`;
  return key in en ? t(key as Key) : word;
}

/** A quantity, device event code or detector name: translated in Chinese, as the API names it in English. */
export function term(word: string): string {
  return current === 'zh' ? ZH_TERMS[word] ?? word : word;
}

export function lang(): Lang {
  return current;
}

/** The BCP 47 locale for Intl formatting. */
export function locale(): string {
  return current === 'zh' ? 'zh-CN' : 'en-GB';
}

export function setLang(next: Lang): void {
  current = next;
  try {
    host.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Storage can be disabled (private mode): the choice then lasts for this page only.
  }
  if (host.document !== undefined) host.document.documentElement.lang = locale();
  for (const l of listeners) l();
}

export function onLangChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function initialLang(): Lang {
  let stored: string | null;
  try {
    stored = host.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    stored = null;
  }
  if (stored === 'en' || stored === 'zh') return stored;
  return host.navigator?.language.toLowerCase().startsWith('zh') === true ? 'zh' : 'en';
}
