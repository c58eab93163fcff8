// Translation table and formatting. Vietnamese first, English second.
// Every visible string goes through t(); times are shown in Asia/Ho_Chi_Minh.

export const LANGS = ['vi', 'en'];
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
const STORAGE_KEY = 'phonghop.lang';

// key: [vi, en]. Placeholders: {name}.
const TABLE = {
  // applications
  'app.name': ['Phòng họp không giấy', 'Paperless meeting room'],
  'app.tablet': ['Đại biểu', 'Delegate'],
  'app.console': ['Văn phòng — điều hành', 'Secretariat console'],
  'app.projector': ['Màn chiếu', 'Projector'],
  'app.bridge': ['Điểm cầu', 'Bridge point'],
  'app.ops': ['Kỹ thuật — giám sát', 'Operations'],

  // language
  'lang.vi': ['Tiếng Việt', 'Vietnamese'],
  'lang.en': ['English', 'English'],
  'lang.label': ['Ngôn ngữ', 'Language'],

  // connection
  'conn.online': ['Trực tuyến', 'Online'],
  'conn.connecting': ['Đang kết nối…', 'Connecting…'],
  'conn.reconnecting': ['Mất kết nối — đang kết nối lại…', 'Connection lost — reconnecting…'],
  'conn.offline': ['Ngoại tuyến', 'Offline'],

  // auth
  'auth.title': ['Đăng nhập', 'Sign in'],
  'auth.username': ['Tên đăng nhập', 'Username'],
  'auth.password': ['Mật khẩu', 'Password'],
  'auth.login': ['Đăng nhập', 'Sign in'],
  'auth.logout': ['Đăng xuất', 'Sign out'],
  'auth.tab_login': ['Tài khoản', 'Account'],
  'auth.tab_pair': ['Mã ghép nối', 'Pairing code'],
  'auth.pair_code': ['Mã ghép nối', 'Pairing code'],
  'auth.device_name': ['Tên thiết bị', 'Device name'],
  'auth.pair': ['Ghép nối thiết bị', 'Pair this device'],
  'auth.pair_hint': [
    'Nhập mã do văn phòng cấp để gắn máy này với tài khoản của bạn.',
    'Enter the code given by the secretariat to bind this device to your account.',
  ],
  'auth.default_device': ['Máy tính bảng', 'Tablet'],
  'auth.signed_in_as': ['Đăng nhập: {name}', 'Signed in: {name}'],
  'auth.working': ['Đang xử lý…', 'Working…'],

  // meetings
  'meetings.title': ['Danh sách cuộc họp', 'Meetings'],
  'meetings.empty': ['Chưa có cuộc họp nào.', 'No meetings yet.'],
  'meetings.loading': ['Đang tải…', 'Loading…'],
  'meetings.open': ['Mở', 'Open'],
  'meetings.back': ['← Danh sách cuộc họp', '← Meetings'],
  'meetings.refresh': ['Làm mới', 'Refresh'],
  'meeting.place': ['Địa điểm', 'Place'],
  'meeting.starts_at': ['Bắt đầu', 'Starts'],
  'meeting.ends_at': ['Kết thúc', 'Ends'],
  'meeting.status': ['Trạng thái', 'Status'],
  'meeting.no_place': ['(chưa có địa điểm)', '(no place yet)'],
  'meeting.no_time': ['(chưa có thời gian)', '(no time yet)'],
  'meeting.loading': ['Đang tải cuộc họp…', 'Loading the meeting…'],

  'status.draft': ['Bản nháp', 'Draft'],
  'status.published': ['Đã phát hành', 'Published'],
  'status.in_session': ['Đang họp', 'In session'],
  'status.adjourned': ['Tạm nghỉ', 'Adjourned'],
  'status.closed': ['Đã bế mạc', 'Closed'],

  // lifecycle
  'life.publish': ['Phát hành', 'Publish'],
  'life.start': ['Khai mạc', 'Start'],
  'life.adjourn': ['Tạm nghỉ', 'Adjourn'],
  'life.resume': ['Họp tiếp', 'Resume'],
  'life.close': ['Bế mạc', 'Close'],
  'life.title': ['Điều hành phiên họp', 'Session control'],
  'life.none': ['Cuộc họp đã kết thúc.', 'The meeting has ended.'],

  // agenda
  'agenda.title': ['Chương trình', 'Agenda'],
  'agenda.empty': ['Chưa có nội dung.', 'No agenda items yet.'],
  'agenda.current': ['Đang thảo luận', 'Now discussing'],
  'agenda.none_current': ['Chưa chọn nội dung', 'No current item'],
  'agenda.presenter': ['Trình bày', 'Presenter'],
  'agenda.minutes': ['{n} phút', '{n} min'],
  'agenda.planned_minutes': ['Số phút', 'Minutes'],
  'agenda.item_title': ['Tên nội dung', 'Item title'],
  'agenda.add': ['Thêm nội dung', 'Add item'],
  'agenda.add_sub': ['Thêm mục con', 'Add sub-item'],
  'agenda.add_sub_to': ['Thêm mục con vào {n}', 'Add a sub-item to {n}'],
  'agenda.rename': ['Sửa', 'Edit'],
  'agenda.save': ['Lưu', 'Save'],
  'agenda.cancel': ['Hủy', 'Cancel'],
  'agenda.up': ['Lên', 'Up'],
  'agenda.down': ['Xuống', 'Down'],
  'agenda.remove': ['Xóa', 'Remove'],
  'agenda.remove_confirm': ['Xác nhận xóa', 'Confirm removal'],
  'agenda.set_current': ['Chọn thảo luận', 'Set current'],
  'agenda.clear_current': ['Bỏ chọn', 'Clear current'],

  // participants and attendance
  'part.title': ['Thành phần tham dự', 'Participants'],
  'part.empty': ['Chưa có người tham dự.', 'No participants yet.'],
  'part.name': ['Họ và tên', 'Name'],
  'part.role': ['Vai trò', 'Role'],
  'part.attendance': ['Điểm danh', 'Attendance'],
  'part.reason': ['Lý do', 'Reason'],
  'part.reason_placeholder': ['Lý do vắng', 'Reason for absence'],
  'part.voting': ['Biểu quyết', 'Voting'],
  'part.mark_present': ['Có mặt', 'Present'],
  'part.mark_absent': ['Vắng', 'Absent'],
  'part.mark_excused': ['Vắng có lý do', 'Excused'],
  'part.confirm': ['Xác nhận', 'Confirm'],
  'part.add': ['Thêm người tham dự', 'Add participant'],
  'part.add_account': ['Tài khoản', 'Account'],

  'role.chair': ['Chủ trì', 'Chair'],
  'role.secretary': ['Thư ký', 'Secretary'],
  'role.delegate': ['Đại biểu', 'Delegate'],
  'role.guest': ['Khách mời', 'Guest'],
  'role.observer': ['Dự thính', 'Observer'],
  'role.operator': ['Vận hành điểm cầu', 'Bridge operator'],

  'att.present': ['Có mặt', 'Present'],
  'att.absent': ['Vắng', 'Absent'],
  'att.excused': ['Vắng có lý do', 'Excused'],
  'att.unknown': ['Chưa điểm danh', 'Not checked in'],
  'att.summary': ['Tình hình điểm danh', 'Attendance'],
  'att.check_in': ['Điểm danh', 'Check in'],
  'att.checked_in': ['Đã điểm danh lúc {time}', 'Checked in at {time}'],
  'att.not_participant': ['Bạn không có tên trong thành phần cuộc họp.', 'You are not a participant of this meeting.'],

  'quorum.title': ['Đại biểu có quyền biểu quyết', 'Voting members (quorum)'],
  'quorum.present': ['Có mặt {present}/{members}', 'Present {present}/{members}'],
  'quorum.required': ['Cần tối thiểu {required} ({fraction})', 'At least {required} needed ({fraction})'],
  'quorum.reached': ['Đủ số lượng', 'Quorum reached'],
  'quorum.not_reached': ['Chưa đủ số lượng', 'Quorum not reached'],

  // create meeting
  'create.title': ['Tạo cuộc họp', 'New meeting'],
  'create.open': ['+ Tạo cuộc họp', '+ New meeting'],
  'create.meeting_title': ['Tên cuộc họp', 'Title'],
  'create.unit': ['Đơn vị', 'Unit'],
  'create.place': ['Địa điểm', 'Place'],
  'create.starts_at': ['Thời gian bắt đầu (giờ Việt Nam)', 'Start time (Vietnam time)'],
  'create.quorum': ['Tỷ lệ tối thiểu (vd. 2/3)', 'Quorum fraction (e.g. 2/3)'],
  'create.submit': ['Tạo', 'Create'],
  'create.cancel': ['Hủy', 'Cancel'],
  'create.pick_unit': ['— chọn đơn vị —', '— pick a unit —'],

  // pairing
  'pair.title': ['Ghép nối thiết bị', 'Pair a device'],
  'pair.account': ['Tài khoản', 'Account'],
  'pair.pick_account': ['— chọn tài khoản —', '— pick an account —'],
  'pair.create': ['Tạo mã ghép nối', 'Create pairing code'],
  'pair.code': ['Mã', 'Code'],
  'pair.expires': ['Hết hạn lúc {time}', 'Expires at {time}'],
  'pair.hint': [
    'Trên máy tính bảng, chọn "Mã ghép nối" và nhập mã này, hoặc quét mã QR.',
    'On the tablet, choose "Pairing code" and type this code, or scan the QR code.',
  ],

  // projector / bridge / ops
  'proj.waiting': ['Chưa có nội dung đang thảo luận', 'No item under discussion'],
  'proj.pick': ['Chọn cuộc họp để chiếu', 'Pick a meeting to show'],
  'ops.soon': ['Giám sát điểm cầu sẽ có ở phiên bản sau.', 'Bridge point monitoring comes in a later version.'],
  'bridge.soon': ['Kết nối hình ảnh, âm thanh sẽ có ở phiên bản sau.', 'Picture and sound come in a later version.'],
  // bridge point page (/bridge): the operator of a point (điểm cầu)
  'bridge.point_name': ['Điểm cầu {name}', 'Bridge point {name}'],
  'bridge.not_operator': ['Tài khoản này không phải cán bộ điểm cầu của cuộc họp: chỉ xem được nội dung và chương trình.', 'This account does not run a bridge point of this meeting: the item and the agenda only.'],
  'bridge.no_unit': ['Cán bộ điểm cầu chưa được gắn với đơn vị (điểm cầu) nào: đề nghị văn phòng cập nhật.', 'This operator has no unit (bridge point): ask the secretariat to set one.'],
  'bridge.loading_point': ['Đang tải thông tin điểm cầu…', 'Loading the bridge point…'],
  'bridge.pick_point': ['Nhập số liệu thay cho điểm cầu', 'Enter figures for the bridge point'],
  'bridge.pick_none': ['(chọn điểm cầu)', '(choose a point)'],
  'bridge.seated_title': ['Số người dự tại điểm cầu', 'People seated at the point'],
  'bridge.seated_last': ['Đã báo: {n} người, lúc {time}', 'Reported: {n} people, at {time}'],
  'bridge.seated_none': ['Chưa báo số người dự.', 'Not reported yet.'],
  'bridge.seated_input': ['Số người đang ngồi tại điểm cầu', 'How many people sit at the point'],
  'bridge.seated_send': ['Báo số người', 'Report'],
  'bridge.seated_sent': ['Đã gửi: {n} người.', 'Sent: {n} people.'],
  'bridge.seated_closed': ['Chỉ báo số người khi cuộc họp đã công bố, đang họp hoặc tạm dừng.', 'The count is reported once the meeting is published, in session or adjourned.'],
  'bridge.seated_frozen': ['Biểu quyết đang mở tính {n} người tại điểm cầu (số đã báo khi mở); số mới áp dụng cho lần biểu quyết sau.', 'The open poll counts {n} people at the point (the count when it opened); a new count applies to the next poll.'],
  'bridge.sending': ['Đang gửi…', 'Sending…'],
  'bridge.waiting_link': ['Mất kết nối: số liệu sẽ được gửi khi có kết nối lại.', 'Offline: the figures go as soon as the link returns.'],
  'bridge.retry': ['Gửi lại', 'Send again'],
  'bridge.retry_hint': ['Chưa gửi được do đường truyền. Bấm "Gửi lại": số liệu không bị tính hai lần.', 'Not sent: the link failed. Press "Send again": the figures will not be counted twice.'],
  'bridge.err.empty': ['Nhập một số (0 nếu không có).', 'Enter a number (0 if none).'],
  'bridge.err.not_whole': ['Chỉ nhập số nguyên không âm.', 'Whole numbers from 0 only.'],
  'bridge.err.too_big': ['Số quá lớn.', 'Too large.'],
  'bridge.err.fields': ['Kiểm tra lại các ô được đánh dấu; chưa gửi.', 'Check the marked fields; nothing was sent.'],
  'bridge.err.over': ['Tổng số giơ tay ({total}) vượt số người có mặt tại điểm cầu ({limit}); chưa gửi.', 'The hands ({total}) are more than the people at the point ({limit}); nothing was sent.'],
  'bridge.hands_title': ['Kết quả giơ tay tại điểm cầu', 'Show of hands at this point'],
  'bridge.hands_limit': ['Số người có mặt khi mở biểu quyết: {n}', 'People present when the poll opened: {n}'],
  'bridge.hands_total': ['Tổng: {total}/{limit}', 'Total: {total}/{limit}'],
  'bridge.hands_send': ['Gửi kết quả giơ tay', 'Send the show of hands'],
  'bridge.hands_sent': ['Đã gửi', 'Sent'],
  'bridge.hands_sent_at': ['lúc {time}', 'at {time}'],
  'bridge.hands_correct': ['Sửa số liệu', 'Correct the figures'],
  'bridge.hands_cancel': ['Thôi, giữ số đã gửi', 'Keep the figures sent'],
  'bridge.hands_secret': ['Biểu quyết kín: điểm cầu không nhập kết quả giơ tay.', 'Secret poll: points enter no show of hands.'],
  'bridge.hands_kind': ['Hình thức biểu quyết này không nhập kết quả giơ tay tại điểm cầu.', 'This kind of poll takes no show of hands at points.'],
  'bridge.hands_not_at_open': ['Khi mở biểu quyết này, điểm cầu chưa báo số người dự nên không nhập được kết quả giơ tay. Đề nghị văn phòng xử lý.', 'The point had reported no seated count when this poll opened, so its hands cannot be entered. Ask the secretariat.'],
  'bridge.poll_now': ['Đang biểu quyết', 'Voting now'],
  'bridge.floor_title': ['Phát biểu từ điểm cầu', 'Speaking from this point'],
  'bridge.floor_topic': ['Người phát biểu, nội dung (không bắt buộc)', 'Speaker and topic (optional)'],
  'bridge.floor_request': ['Đăng ký phát biểu cho điểm cầu', 'Ask for the floor for this point'],
  'bridge.floor_place': ['Thứ tự của điểm cầu: {n}/{total}', 'This point\'s place: {n} of {total}'],
  'bridge.floor_speaking': ['Điểm cầu đang được phát biểu', 'This point has the floor'],
  'bridge.floor_closed': ['Chưa đăng ký phát biểu được ở trạng thái hiện tại của cuộc họp.', 'The floor cannot be asked for in the meeting\'s current state.'],
  'bridge.floor_queue': ['Đang chờ phát biểu: {n}', 'Waiting to speak: {n}'],


  // console tabs
  'console.tab.session': ['Chương trình, thành phần', 'Agenda & participants'],
  'console.tab.polls': ['Biểu quyết', 'Polls'],
  'console.tab.speakers': ['Phát biểu', 'Speakers'],
  'console.tab.comments': ['Góp ý', 'Comments'],
  'proj.result': ['Kết quả biểu quyết', 'Result of the vote'],

  // polls (biểu quyết)
  'poll.title': ['Biểu quyết', 'Polls'],
  'poll.none': ['Chưa có biểu quyết.', 'No polls yet.'],
  'poll.kind.motion': ['Biểu quyết thông qua', 'Motion'],
  'poll.kind.choice': ['Lựa chọn phương án', 'Choice'],
  'poll.kind.election': ['Bầu cử (gạch tên)', 'Election'],
  'poll.opt.yes': ['Tán thành', 'Yes'],
  'poll.opt.no': ['Không tán thành', 'No'],
  'poll.opt.abstain': ['Không biểu quyết', 'Abstain'],
  'poll.state.draft': ['Bản nháp', 'Draft'],
  'poll.state.open': ['Đang biểu quyết', 'Open'],
  'poll.state.closed': ['Đã kết thúc', 'Closed'],
  'poll.state.published': ['Đã công bố', 'Published'],
  'poll.secret': ['Bỏ phiếu kín', 'Secret ballot'],
  'poll.named': ['Biểu quyết công khai', 'Named vote'],
  'poll.voted_of': ['Đã biểu quyết: {voted}/{entitled}', 'Voted: {voted}/{entitled}'],
  'poll.now': ['Mời đồng chí biểu quyết', 'Please vote'],
  'poll.later': ['Để sau', 'Later'],
  'poll.confirm_title': ['Xác nhận lựa chọn của đồng chí', 'Confirm your choice'],
  'poll.confirm': ['Xác nhận gửi phiếu', 'Confirm and send'],
  'poll.back': ['Chọn lại', 'Go back'],
  'poll.next': ['Tiếp tục', 'Continue'],
  'poll.sending': ['Đang gửi…', 'Sending…'],
  'poll.voted': ['Đã biểu quyết', 'Voted'],
  'poll.receipt': ['Mã phiếu', 'Receipt code'],
  'poll.receipt_note': [
    'Hãy ghi lại mã này để tự đối chiếu khi công bố danh sách phiếu. Mã không được lưu và sẽ không hiển thị lại.',
    'Write this code down to check your ballot in the published list. It is not stored and will not be shown again.',
  ],
  'poll.receipt_check': ['Đối chiếu mã phiếu', 'Check my receipt'],
  'poll.receipt_found': ['Phiếu có trong danh sách công bố', 'Your ballot is in the published list'],
  'poll.receipt_missing': ['Không thấy mã phiếu trong danh sách công bố — báo ngay cho Ban kiểm phiếu.', 'Receipt not found in the published list — tell the tellers at once.'],
  'poll.secret_pending': [
    'Phiếu kín được ghi theo lô cùng phiếu của người khác để giữ bí mật; mã phiếu sẽ hiện khi lô được ghi hoặc khi kết thúc biểu quyết. Đồng chí không cần gửi lại.',
    'Secret ballots are written in batches with others\' to keep them secret; your receipt appears when the batch is written or when the poll closes. No need to send again.',
  ],
  'poll.already_counted': ['Phiếu của đồng chí đã được ghi nhận trước đó.', 'Your ballot had already been recorded.'],
  'poll.choose_range': ['Chọn từ {min} đến {max} phương án', 'Choose {min} to {max} options'],
  'poll.chosen': ['Đã chọn {n}', '{n} chosen'],
  'poll.election_hint': ['Giữ tối đa {seats} người; gạch tên người không bầu.', 'Keep up to {seats} names; strike the others.'],
  'poll.keep': ['Giữ', 'Keep'],
  'poll.strike': ['Gạch tên', 'Strike'],
  'poll.struck': ['Gạch tên', 'Struck'],
  'poll.kept_count': ['Giữ {n}/{seats}', 'Kept {n}/{seats}'],
  'poll.closes_at': ['Kết thúc lúc {time}', 'Closes at {time}'],
  'poll.may_change': ['Có thể thay đổi phiếu đến khi kết thúc.', 'You may change your vote until the close.'],
  'poll.change_vote': ['Thay đổi phiếu', 'Change my vote'],
  'poll.waiting_result': ['Đã kết thúc, chờ công bố kết quả.', 'Closed; waiting for the result.'],
  'poll.result': ['Kết quả biểu quyết', 'Result'],
  'poll.outcome.passed': ['Được thông qua', 'Passed'],
  'poll.outcome.failed': ['Không được thông qua', 'Not passed'],
  'poll.outcome.no_quorum': ['Không đủ số lượng tham gia', 'No quorum'],
  'poll.outcome.tie': ['Số phiếu ngang nhau — biểu quyết lại', 'Tie — vote again'],
  'poll.outcome.partial': ['Chưa bầu đủ số lượng', 'Seats left vacant'],
  'poll.reason.reached': ['Tán thành {yes}, đạt mức cần thiết {required} trên {base} ({basekind}).', '{yes} yes, reaching the {required} of {base} needed ({basekind}).'],
  'poll.reason.exactly_at_threshold': ['Tán thành {yes}/{base}: đúng bằng {threshold}, chưa quá {threshold} ({basekind}).', '{yes} yes of {base}: exactly {threshold}, not more than {threshold} ({basekind}).'],
  'poll.reason.below_threshold': ['Tán thành {yes}, chưa đạt mức cần thiết {required} trên {base} ({basekind}).', '{yes} yes, below the {required} of {base} needed ({basekind}).'],
  'poll.reason.no_quorum': ['Tham gia {counted}, cần tối thiểu {required}/{members} ({fraction}).', '{counted} took part; at least {required} of {members} needed ({fraction}).'],
  'poll.reason.empty_base': ['Không có phiếu để tính tỷ lệ.', 'There is nothing to count the majority against.'],
  'poll.reason.winner': ['Phương án dẫn đầu đạt {votes} phiếu, cần {required} trên {base} ({basekind}).', 'The leading option has {votes}; {required} of {base} needed ({basekind}).'],
  'poll.reason.options_adopted': ['{adopted} phương án đạt từ {required} trên {base} phiếu ({basekind}).', '{adopted} option(s) reached {required} of {base} ({basekind}).'],
  'poll.reason.no_option_reached': ['Không phương án nào đạt {required} trên {base} phiếu ({basekind}).', 'No option reached {required} of {base} ({basekind}).'],
  'poll.reason.tie_at_top': ['Các phương án dẫn đầu cùng {votes} phiếu.', 'The leading options are tied at {votes}.'],
  'poll.reason.seats_filled': ['Bầu đủ {seats} người, mỗi người đạt từ {required} trên {base} phiếu ({basekind}).', 'All {seats} seats filled, each with at least {required} of {base} ({basekind}).'],
  'poll.reason.tie_at_cutoff': ['{tied} người cùng {votes} phiếu cho {seats_in_runoff} chỗ còn lại: bầu lại giữa những người này.', '{tied} candidates tied at {votes} for {seats_in_runoff} remaining seat(s): a runoff among them.'],
  'poll.reason.seats_unfilled': ['Trúng cử {elected}/{seats}; cần từ {required} trên {base} phiếu ({basekind}).', '{elected} of {seats} elected; {required} of {base} needed ({basekind}).'],
  'poll.basekind.members': ['tổng số thành viên', 'of all members'],
  'poll.basekind.present': ['số có mặt', 'of those present'],
  'poll.basekind.valid': ['số phiếu hợp lệ', 'of valid votes'],
  'poll.majority.strict': ['Quá {threshold} {basekind}', 'More than {threshold} {basekind}'],
  'poll.majority.at_least': ['Từ {threshold} {basekind} trở lên', 'At least {threshold} {basekind}'],
  'poll.base_line': ['Cơ sở tính: {base} ({basekind}) · cần {required}', 'Base: {base} ({basekind}) · {required} needed'],
  'poll.counts_line': ['Phiếu hợp lệ {valid} · trắng {blank} · không hợp lệ {invalid} · tham gia {cast}', 'Valid {valid} · blank {blank} · invalid {invalid} · took part {cast}'],
  'poll.members_line': ['Thành viên {members} · có mặt khi mở {present}', 'Members {members} · present at opening {present}'],
  'poll.quorum_line': ['Tỷ lệ tối thiểu: {counted}/{members}, cần {required} ({fraction})', 'Quorum: {counted}/{members}, {required} needed ({fraction})'],
  'poll.percent_of': ['{pct}% {basekind}', '{pct}% {basekind}'],
  'poll.elected': ['Trúng cử', 'Elected'],
  'poll.adopted': ['Được chọn', 'Chosen'],
  'poll.tied': ['Ngang phiếu', 'Tied'],
  'poll.votes': ['{n} phiếu', '{n} votes'],
  // console: polls
  'poll.create_open': ['+ Tạo biểu quyết', '+ New poll'],
  'poll.f.kind': ['Hình thức', 'Kind'],
  'poll.f.title': ['Nội dung biểu quyết', 'Question'],
  'poll.f.options': ['Phương án (mỗi dòng một phương án)', 'Options (one per line)'],
  'poll.f.candidates': ['Danh sách ứng cử (mỗi dòng một người)', 'Candidates (one per line)'],
  'poll.f.seats': ['Số lượng được bầu', 'Seats'],
  'poll.f.min': ['Chọn ít nhất', 'At least'],
  'poll.f.max': ['Chọn nhiều nhất', 'At most'],
  'poll.f.secret': ['Bỏ phiếu kín', 'Secret ballot'],
  'poll.f.base': ['Tính tỷ lệ trên', 'Majority of'],
  'poll.f.threshold': ['Tỷ lệ (vd. 1/2, 2/3)', 'Threshold (e.g. 1/2, 2/3)'],
  'poll.f.strict': ['Phải quá tỷ lệ (bằng thì không đạt)', 'Strictly more than the threshold'],
  'poll.f.quorum': ['Tỷ lệ tham gia tối thiểu', 'Quorum'],
  'poll.f.quorum_of': ['Tính tham gia theo', 'Quorum counts'],
  'poll.quorum_of.present': ['số có mặt', 'those present'],
  'poll.quorum_of.voting': ['số bỏ phiếu', 'those voting'],
  'poll.f.duration': ['Thời gian (giây; để trống: đến khi chủ trì kết thúc)', 'Duration (seconds; empty: until closed)'],
  'poll.f.may_change': ['Cho phép thay đổi phiếu', 'Voters may change their vote'],
  'poll.f.item': ['Thuộc nội dung', 'Agenda item'],
  'poll.f.no_item': ['(không gắn nội dung)', '(no item)'],
  'poll.create': ['Tạo biểu quyết', 'Create poll'],
  'poll.cancel': ['Hủy', 'Cancel'],
  'poll.open': ['Mở biểu quyết', 'Open'],
  'poll.close': ['Kết thúc biểu quyết', 'Close'],
  'poll.publish': ['Công bố kết quả', 'Publish'],
  'poll.delete': ['Xóa', 'Delete'],
  'poll.live_tally': ['Kết quả tạm thời', 'Live tally'],
  'poll.hands': ['Biểu quyết giơ tay tại điểm cầu', 'Show of hands at bridge points'],
  'poll.hands_present': ['có mặt {n}', '{n} present'],
  'poll.hands_send': ['Ghi nhận', 'Record'],
  'poll.points_at_open': ['Số người tại điểm cầu khi mở biểu quyết', 'People at bridge points when opening'],
  // speakers (đăng ký phát biểu)
  'spk.title': ['Đăng ký phát biểu', 'Speakers'],
  'spk.request': ['Đăng ký phát biểu', 'Ask to speak'],
  'spk.topic': ['Nội dung phát biểu', 'Topic'],
  'spk.point_of_order': ['Kiến nghị về thủ tục', 'Point of order'],
  'spk.withdraw': ['Rút đăng ký', 'Withdraw'],
  'spk.place': ['Thứ tự của đồng chí: {n}', 'Your place in the queue: {n}'],
  'spk.state.waiting': ['Chờ duyệt', 'Waiting'],
  'spk.state.approved': ['Đã duyệt', 'Approved'],
  'spk.state.speaking': ['Đang phát biểu', 'Speaking'],
  'spk.state.done': ['Đã phát biểu', 'Done'],
  'spk.state.withdrawn': ['Đã rút', 'Withdrawn'],
  'spk.kind.ordinary': ['Phát biểu', 'Speech'],
  'spk.kind.point_of_order': ['Kiến nghị thủ tục', 'Point of order'],
  'spk.you_speaking': ['Đồng chí đang phát biểu', 'You have the floor'],
  'spk.remaining': ['Còn lại', 'Remaining'],
  'spk.elapsed': ['Đã nói', 'Elapsed'],
  'spk.warning': ['Sắp hết giờ', 'Time almost up'],
  'spk.over': ['Quá giờ', 'Over time'],
  'spk.queue': ['Danh sách chờ', 'Queue'],
  'spk.empty': ['Chưa có ai đăng ký.', 'Nobody has asked to speak.'],
  'spk.approve': ['Duyệt', 'Approve'],
  'spk.up': ['Lên', 'Up'],
  'spk.down': ['Xuống', 'Down'],
  'spk.start': ['Mời phát biểu', 'Start'],
  'spk.stop': ['Kết thúc phát biểu', 'Stop'],
  'spk.decline': ['Từ chối', 'Decline'],
  'spk.limit': ['Giây', 'Seconds'],
  'spk.current': ['Đang phát biểu', 'Speaking now'],
  'spk.none_speaking': ['Chưa có người phát biểu.', 'Nobody has the floor.'],
  'spk.finished': ['Đã phát biểu', 'Finished'],
  'spk.summary': ['Tóm tắt ý kiến', 'Summary'],
  'spk.save': ['Lưu', 'Save'],
  'spk.duration': ['{time}', '{time}'],
  'spk.no_topic': ['(không ghi nội dung)', '(no topic)'],
  // comments (góp ý)
  'cmt.title': ['Góp ý dự thảo', 'Comments on drafts'],
  'cmt.anchor': ['Góp ý vào', 'On'],
  'cmt.anchor.item': ['Nội dung đang thảo luận', 'The current item'],
  'cmt.anchor.passage': ['Một đoạn trích', 'A quoted passage'],
  'cmt.anchor.page': ['Trang {page}', 'Page {page}'],
  'cmt.quote': ['Đoạn trích', 'Quoted passage'],
  'cmt.section': ['Mục, điều (nếu có)', 'Section (if any)'],
  'cmt.text': ['Ý kiến góp ý', 'Comment'],
  'cmt.proposed': ['Đề nghị sửa thành (nếu có)', 'Proposed text (if any)'],
  'cmt.visibility': ['Ai được xem', 'Visible to'],
  'cmt.vis.secretariat': ['Chỉ văn phòng', 'Secretariat only'],
  'cmt.vis.all': ['Mọi đại biểu', 'Everyone'],
  'cmt.round': ['Đợt lấy ý kiến', 'Round'],
  'cmt.no_round': ['(không theo đợt)', '(no round)'],
  'cmt.send': ['Gửi góp ý', 'Send comment'],
  'cmt.sent': ['Đã gửi góp ý.', 'Comment sent.'],
  'cmt.mine': ['Góp ý của tôi', 'My comments'],
  'cmt.none': ['Chưa có góp ý.', 'No comments yet.'],
  'cmt.no_item': ['Chưa có nội dung đang thảo luận.', 'No item under discussion.'],
  'cmt.decision.pending': ['Chưa xử lý', 'Pending'],
  'cmt.decision.accepted': ['Tiếp thu', 'Accepted'],
  'cmt.decision.explained': ['Giải trình', 'Explained'],
  'cmt.decision.noted': ['Ghi nhận', 'Noted'],
  'cmt.explanation': ['Giải trình', 'Explanation'],
  'cmt.explain_placeholder': ['Nội dung giải trình', 'The explanation'],
  'cmt.round_open': ['Mở đợt lấy ý kiến', 'Open a round'],
  'cmt.round_title': ['Tên đợt', 'Round title'],
  'cmt.deadline': ['Hạn góp ý (giờ Việt Nam)', 'Deadline (Vietnam time)'],
  'cmt.units': ['Gửi đến đơn vị (giữ Ctrl để chọn nhiều)', 'Addressed to units (Ctrl to pick several)'],
  'cmt.round_close': ['Kết thúc đợt', 'Close round'],
  'cmt.round_state.open': ['Đang lấy ý kiến', 'Open'],
  'cmt.round_state.closed': ['Đã kết thúc', 'Closed'],
  'cmt.rounds': ['Các đợt lấy ý kiến', 'Rounds'],
  'cmt.until': ['hạn {time}', 'until {time}'],
  'cmt.group': ['Nhóm theo', 'Group by'],
  'cmt.group.section': ['Mục, điều', 'Section'],
  'cmt.group.unit': ['Đơn vị', 'Unit'],
  'cmt.group.delegate': ['Đại biểu', 'Delegate'],
  'cmt.no_section': ['(không ghi mục)', '(no section)'],
  'cmt.all_rounds': ['Mọi đợt', 'All rounds'],
  'cmt.export_docx': ['Tải bảng tổng hợp (DOCX)', 'Download summary (DOCX)'],
  'cmt.export_xlsx': ['Tải bảng tổng hợp (XLSX)', 'Download summary (XLSX)'],
  'cmt.author': ['Người góp ý', 'Author'],
  'cmt.on': ['Vị trí', 'Anchor'],
  'cmt.decision': ['Xử lý', 'Decision'],
  'cmt.accept': ['Tiếp thu', 'Accept'],
  'cmt.explain': ['Giải trình', 'Explain'],
  'cmt.note': ['Ghi nhận', 'Note'],
  // live attendance
  'att.by_role': ['Theo thành phần', 'By role'],
  'att.by_point': ['Theo điểm cầu', 'By bridge point'],
  'att.invited': ['Triệu tập', 'Invited'],
  'att.seated': ['Số người dự', 'Seated'],
  'att.report': ['Cập nhật', 'Update'],
  'att.no_points': ['Chưa có điểm cầu báo số người.', 'No bridge point has reported yet.'],
  'att.point': ['Điểm cầu', 'Bridge point'],
  // projector, live
  'proj.voting': ['Đang biểu quyết: {voted}/{entitled}', 'Voting: {voted}/{entitled}'],
  'proj.quorum': ['Có mặt {present}/{members} · cần {required}', 'Present {present}/{members} · {required} needed'],
  // reasons given by the server's rules (details.reason)
  'reason.not_entitled': ['Đồng chí không thuộc danh sách biểu quyết lần này (chưa điểm danh khi mở biểu quyết).', 'You are not on this poll\'s list of voters (not checked in when it opened).'],
  'reason.already_voted': ['Đồng chí đã biểu quyết.', 'You have already voted.'],
  'reason.poll_not_open': ['Biểu quyết chưa mở hoặc đã kết thúc.', 'The poll is not open.'],
  'reason.deadline_passed': ['Đã hết thời gian biểu quyết.', 'The time to vote is over.'],
  'reason.too_many_kept': ['Giữ quá số lượng được bầu.', 'Too many names kept.'],
  'reason.all_struck': ['Không được gạch hết tên.', 'You may not strike every name.'],
  'reason.too_few_selections': ['Chọn chưa đủ số phương án.', 'Too few options chosen.'],
  'reason.too_many_selections': ['Chọn quá số phương án.', 'Too many options chosen.'],
  'reason.already_waiting': ['Đồng chí đã đăng ký và đang chờ.', 'You are already in the queue.'],
  'reason.speech_in_progress': ['Đang có người phát biểu.', 'Someone has the floor.'],
  'reason.not_approved': ['Đăng ký này chưa được duyệt.', 'This request is not approved yet.'],
  'reason.bad_position': ['Không thể chuyển đến vị trí này.', 'Cannot move there.'],
  'reason.hands_exceed_present': ['Số giơ tay vượt số người có mặt.', 'More hands than people present.'],
  'reason.unknown_point': ['Điểm cầu chưa có số người dự khi mở biểu quyết này.', 'The point had no seated count when this poll opened.'],
  'reason.hands_on_secret_poll': ['Biểu quyết kín không nhận kết quả giơ tay.', 'A secret poll takes no show of hands.'],
  'reason.hands_not_supported': ['Hình thức biểu quyết này không nhận kết quả giơ tay.', 'This kind of poll takes no show of hands.'],
  'reason.secret_vote_change': ['Phiếu kín không cho phép thay đổi phiếu.', 'A secret ballot cannot be changed.'],

  // documents (tài liệu): tablet
  'doc.title': ['Tài liệu', 'Documents'],
  'doc.general': ['Tài liệu chung', 'General papers'],
  'doc.none': ['Chưa có tài liệu.', 'No documents yet.'],
  'doc.classification_default': ['Mật', 'Mật'],
  'doc.rendering': ['Đang xử lý {ready}/{total} trang', 'Processing {ready}/{total} pages'],
  'doc.rendering_unknown': ['Đang xử lý…', 'Processing…'],
  'doc.pages': ['{n} trang', '{n} pages'],
  'doc.revised': ['Tài liệu đã có phiên bản mới', 'This document has a new version'],
  'doc.recalled': ['Tài liệu đã bị thu hồi', 'Documents recalled'],
  'doc.recalled_hint': ['Bản sao trên máy này đã được xóa.', 'The copy on this device has been deleted.'],
  'doc.failed': ['Tài liệu chưa xử lý được', 'The document could not be processed'],
  'doc.offline_saved': ['Có bản offline', 'Saved offline'],
  'doc.download': ['Tải về để đọc offline', 'Download for offline reading'],
  'doc.download_again': ['Cập nhật bản offline', 'Update the offline copy'],
  'doc.downloading': ['Đang tải {done}/{total} trang ({size})', 'Downloading {done}/{total} pages ({size})'],
  'doc.downloaded': ['Đã lưu {n}/{total} tài liệu để đọc offline', '{n}/{total} documents saved for offline reading'],
  'doc.lease': ['Bản offline tự xóa lúc {time}', 'The offline copy deletes itself at {time}'],
  'doc.offline_reading': ['Đang đọc bản lưu trên máy (mất kết nối)', 'Reading the copy on this device (offline)'],
  'doc.follow': ['Theo người trình chiếu', 'Follow the presenter'],
  'doc.presented': ['Đang trình chiếu', 'On the projector'],
  'doc.search': ['Tìm trong tài liệu', 'Search the documents'],
  'doc.search_placeholder': ['Từ cần tìm (gõ không dấu cũng được)', 'Words to find (accents optional)'],
  'doc.search_go': ['Tìm', 'Search'],
  'doc.search_none': ['Không tìm thấy.', 'Nothing found.'],
  'doc.search_hits': ['{n} kết quả', '{n} results'],
  'doc.page_n': ['Trang {n}', 'Page {n}'],
  'doc.dismiss': ['Đã hiểu', 'OK'],
  // documents: the viewer
  'view.prev': ['Trang trước', 'Previous page'],
  'view.next': ['Trang sau', 'Next page'],
  'view.close': ['Đóng', 'Close'],
  'view.zoom': ['Phóng to', 'Zoom in'],
  'view.unzoom': ['Thu nhỏ', 'Zoom out'],
  'view.page_of': ['Trang {n}/{total}', 'Page {n}/{total}'],
  'view.page_waiting': ['Trang này đang được xử lý…', 'This page is still being processed…'],
  'view.loading': ['Đang tải trang…', 'Loading the page…'],
  'view.thumbs': ['Các trang', 'Pages'],
  'view.tool': ['Công cụ', 'Tool'],
  'note.tool.none': ['Lật trang', 'Turn pages'],
  'note.tool.text': ['Ghi chú', 'Text note'],
  'note.tool.highlight': ['Tô sáng', 'Highlight'],
  'note.tool.ink': ['Viết tay', 'Ink'],
  'note.title': ['Ghi chú riêng', 'My private notes'],
  'note.private_hint': ['Chỉ đồng chí xem được, trên các máy của đồng chí.', 'Only you see them, on your own devices.'],
  'note.text_placeholder': ['Nội dung ghi chú', 'Your note'],
  'note.place_hint': ['Chạm vào trang để chọn chỗ đặt ghi chú.', 'Tap the page to place the note.'],
  'note.highlight_hint': ['Kéo trên trang để tô sáng một vùng.', 'Drag on the page to highlight an area.'],
  'note.ink_hint': ['Viết trên trang, rồi bấm "Lưu nét viết".', 'Write on the page, then press "Save ink".'],
  'note.save': ['Lưu ghi chú', 'Save note'],
  'note.ink_save': ['Lưu nét viết', 'Save ink'],
  'note.ink_clear': ['Bỏ nét chưa lưu', 'Discard unsaved ink'],
  'note.delete': ['Xóa', 'Delete'],
  'note.none': ['Chưa có ghi chú trên tài liệu này.', 'No notes on this document.'],
  'note.kind.text': ['Ghi chú', 'Note'],
  'note.kind.highlight': ['Tô sáng', 'Highlight'],
  'note.kind.ink': ['Nét viết tay', 'Ink'],
  'note.older': ['Ghi chú trên phiên bản cũ: {n}', 'Notes on an older version: {n}'],
  'note.saved': ['Đã lưu ghi chú.', 'Note saved.'],
  // documents: console
  'console.tab.documents': ['Tài liệu', 'Documents'],
  'cdoc.drop': ['Kéo thả tệp (PDF, ảnh, Word, PowerPoint) vào đây, hoặc', 'Drop files (PDF, images, Word, PowerPoint) here, or'],
  'cdoc.choose': ['Chọn tệp', 'Choose files'],
  'cdoc.drop_short': ['Kéo thả tệp vào đây', 'Drop files here'],
  'cdoc.phase.queued': ['Chờ tải lên', 'Waiting'],
  'cdoc.phase.uploading': ['Đang tải lên', 'Uploading'],
  'cdoc.phase.adding': ['Đang tạo tài liệu', 'Adding'],
  'cdoc.phase.processing': ['Đang xử lý', 'Processing'],
  'cdoc.phase.done': ['Hoàn tất', 'Done'],
  'cdoc.phase.failed': ['Lỗi', 'Failed'],
  'cdoc.upload_bar': ['Tải lên', 'Upload'],
  'cdoc.process_bar': ['Xử lý', 'Processing'],
  'cdoc.status.draft': ['Bản nháp', 'Draft'],
  'cdoc.status.published': ['Đã phát hành', 'Published'],
  'cdoc.status.recalled': ['Đã thu hồi', 'Recalled'],
  'cdoc.version': ['Phiên bản {n}', 'Version {n}'],
  'cdoc.up': ['Lên', 'Up'],
  'cdoc.down': ['Xuống', 'Down'],
  'cdoc.access': ['Quyền đọc', 'Access'],
  'cdoc.publish': ['Phát hành', 'Publish'],
  'cdoc.publish_all': ['Phát hành mọi bản nháp', 'Publish all drafts'],
  'cdoc.revise': ['Tải phiên bản mới', 'Upload a new version'],
  'cdoc.remove': ['Xóa', 'Remove'],
  'cdoc.remove_confirm': ['Xác nhận xóa', 'Confirm removal'],
  'cdoc.recall': ['Thu hồi', 'Recall'],
  'cdoc.recall_confirm': ['Xác nhận thu hồi', 'Confirm recall'],
  'cdoc.recall_all': ['Thu hồi mọi tài liệu', 'Recall all documents'],
  'cdoc.recall_all_confirm': ['Xác nhận thu hồi mọi tài liệu đã phát hành', 'Confirm: recall every published document'],
  'cdoc.cancel': ['Hủy', 'Cancel'],
  'cdoc.present': ['Trình chiếu', 'Present'],
  'cdoc.present_page': ['Trang', 'Page'],
  'cdoc.presenting': ['Đang trình chiếu: {title}, trang {page}', 'Presenting: {title}, page {page}'],
  'cdoc.present_stop': ['Dừng trình chiếu', 'Stop presenting'],
  'cdoc.none_here': ['Chưa có tài liệu.', 'No documents.'],
  'cdoc.new_version_note': ['Phiên bản mới {n} đang xử lý', 'New version {n} is being processed'],
  'access.open': ['Mọi thành phần cuộc họp', 'Everyone in the meeting'],
  'access.restricted': ['Hạn chế', 'Restricted'],
  'access.confidential': ['Mật', 'Confidential'],
  'access.participants': ['Người được đọc', 'Readers'],
  'access.roles': ['Theo vai trò', 'By role'],
  'access.classification': ['Độ mật', 'Classification'],
  'access.save': ['Lưu', 'Save'],
  'access.confidential_hint': [
    'Không chọn ai: mọi thành phần cuộc họp đều đọc được; mỗi trang mang tên người đọc và dấu mật.',
    'Nobody picked: every participant may read it; each page carries its reader\'s name and the mark.',
  ],
  'recall.title': ['Thu hồi tài liệu', 'Recalls'],
  'recall.none': ['Chưa có lần thu hồi nào.', 'No recalls yet.'],
  'recall.at': ['Thu hồi lúc {time}', 'Recalled at {time}'],
  'recall.holder': ['Người giữ bản sao', 'Holder'],
  'recall.device': ['Thiết bị', 'Device'],
  'recall.confirmed': ['Xác nhận đã xóa', 'Purge confirmed'],
  'recall.unconfirmed': ['chưa xác nhận', 'not confirmed'],
  'recall.browser': ['Trình duyệt', 'Browser'],
  'recall.no_holders': ['Không có máy nào giữ bản sao.', 'No device held a copy.'],
  'recall.count': ['Đã xác nhận {done}/{total}', 'Confirmed {done}/{total}'],
  'recall.refresh': ['Làm mới', 'Refresh'],
  // rendering errors (agendas/rendering/errors.py CODES) and upload refusals
  'docerr.not_found': ['Không tìm thấy tệp hoặc không đọc được tệp.', 'The file does not exist or cannot be read.'],
  'docerr.unsupported_type': ['Định dạng không được hỗ trợ: chỉ nhận PDF, JPEG, PNG, Word, ODT, PowerPoint.', 'Unsupported type: PDF, JPEG, PNG, Word, ODT or PowerPoint only.'],
  'docerr.type_mismatch': ['Đuôi tên tệp không khớp với nội dung tệp.', 'The file name\'s extension does not match its content.'],
  'docerr.encrypted': ['Tệp PDF có mật khẩu: hãy gỡ mật khẩu rồi tải lên lại.', 'The PDF needs a password: remove it and upload again.'],
  'docerr.corrupt': ['Tệp bị hỏng, không đọc được.', 'The file is damaged and cannot be read.'],
  'docerr.too_many_pages': ['Tài liệu có nhiều trang hơn mức cho phép.', 'The document has more pages than allowed.'],
  'docerr.too_large': ['Tệp lớn hơn mức cho phép.', 'The file is larger than allowed.'],
  'docerr.timeout': ['Xử lý tài liệu quá thời gian cho phép.', 'Rendering took longer than allowed.'],
  'docerr.out_of_memory': ['Xử lý tài liệu cần nhiều bộ nhớ hơn mức cho phép.', 'Rendering needed more memory than allowed.'],
  'docerr.image_bomb': ['Ảnh (hoặc trang) có quá nhiều điểm ảnh.', 'The image (or page) has too many pixels.'],
  'docerr.office_unavailable': ['Máy chủ không chuyển đổi được tệp văn phòng: hãy lưu thành PDF rồi tải lên.', 'The server cannot convert office files: save as PDF and upload that.'],
  'docerr.crashed': ['Bộ xử lý gặp sự cố với tệp này.', 'The renderer crashed on this file.'],
  // projector
  'proj.page': ['Trang {n}', 'Page {n}'],

  // errors
  'error.title': ['Lỗi', 'Error'],
  'error.unauthorized': ['Phiên đăng nhập không hợp lệ hoặc đã hết hạn.', 'Your session is invalid or has expired.'],
  'error.forbidden': ['Bạn không có quyền thực hiện thao tác này.', 'You are not allowed to do this.'],
  'error.not_found': ['Không tìm thấy.', 'Not found.'],
  'error.invalid': ['Dữ liệu không hợp lệ.', 'Invalid input.'],
  'error.bad_json': ['Yêu cầu không đúng định dạng.', 'Malformed request.'],
  'error.too_large': ['Dữ liệu quá lớn.', 'Too large.'],
  'error.conflict': ['Thao tác không hợp lệ ở trạng thái hiện tại.', 'Not allowed in the current state.'],
  'error.idempotency_conflict': ['Thao tác trùng lặp.', 'Duplicate operation.'],
  'error.unknown_command': ['Lệnh không được hỗ trợ.', 'Unsupported command.'],
  'error.invalid_transition': ['Bước này không hợp lệ ở trạng thái hiện tại của cuộc họp.', 'This step is not valid in the meeting\'s current state.'],
  'error.internal': ['Máy chủ gặp lỗi, vui lòng thử lại.', 'The server failed; please try again.'],
  'error.network': ['Không kết nối được máy chủ.', 'Cannot reach the server.'],
  'error.timeout': ['Máy chủ không phản hồi, vui lòng thử lại.', 'The server did not answer; please try again.'],
  'error.unknown': ['Đã có lỗi xảy ra.', 'Something went wrong.'],
  'error.dismiss': ['Đóng', 'Dismiss'],
  'error.recalled': ['Tài liệu đã bị thu hồi.', 'The document was recalled.'],
  'error.aborted': ['Đã dừng.', 'Stopped.'],
  'error.gone': ['Tài liệu đã bị thu hồi.', 'The document was recalled.'],

  // after the meeting: conclusions, minutes, conclusion notice (ConsoleRecords.js)
  'console.tab.records': ['Biên bản', 'Minutes'],
  'rec.conclusions': ['Kết luận của chủ trì', "The chair's conclusions"],
  'rec.conclusions_hint': [
    'Kết luận của đồng chí chủ trì về từng nội dung; được đưa vào biên bản và thông báo kết luận.',
    "The chair's conclusion on each item; it goes into the minutes and the conclusion notice.",
  ],
  'rec.not_yet': ['Kết luận được ghi khi hội nghị đã khai mạc.', 'Conclusions are written once the session has opened.'],
  'rec.current': ['Đang thảo luận', 'Current'],
  'rec.conclusion': ['Kết luận', 'Conclusion'],
  'rec.save': ['Lưu', 'Save'],
  'rec.kind.minutes': ['Biên bản hội nghị', 'Minutes'],
  'rec.kind.conclusion_notice': ['Thông báo kết luận', 'Conclusion notice'],
  'rec.state.minutes.draft': ['Dự thảo', 'Draft'],
  'rec.state.minutes.final': ['Đã chốt', 'Final'],
  'rec.state.conclusion_notice.draft': ['Dự thảo', 'Draft'],
  'rec.state.conclusion_notice.final': ['Đã ban hành', 'Issued'],
  'rec.none.minutes': [
    'Chưa có dự thảo biên bản. Có thể tải bản xem trước lập từ diễn biến hội nghị.',
    'No draft minutes yet. A preview drawn from the session can be downloaded.',
  ],
  'rec.none.conclusion_notice': [
    'Chưa có dự thảo thông báo kết luận. Có thể tải bản xem trước lập từ các kết luận.',
    'No draft conclusion notice yet. A preview drawn from the conclusions can be downloaded.',
  ],
  'rec.draw': ['Lập dự thảo từ diễn biến hội nghị', 'Draft from the session'],
  'rec.redraw': ['Cập nhật lại từ diễn biến hội nghị', 'Draw again from the session'],
  'rec.redraw_hint.minutes': [
    'Cập nhật lại giữ các trường đã nhập (số, ký hiệu, thư ký, phần mở đầu, kết thúc, ghi chú từng nội dung); thành phần, phát biểu, biểu quyết và kết luận được lấy lại.',
    'Drawing again keeps what was typed (number, symbol, minute-taker, opening, closing, item notes); attendance, speeches, votes and conclusions are read again.',
  ],
  'rec.redraw_hint.conclusion_notice': [
    'Cập nhật lại giữ các trường đã nhập; các mục kết luận được lấy lại.',
    'Drawing again keeps what was typed; the sections are read again from the conclusions.',
  ],
  'rec.docx': ['Tải DOCX', 'Download DOCX'],
  'rec.pdf': ['Tải PDF', 'Download PDF'],
  'rec.working': ['Đang xử lý…', 'Working…'],
  'rec.unsaved': ['Có thay đổi chưa lưu', 'Unsaved changes'],
  'rec.finalise.minutes': ['Chốt biên bản', 'Finalise the minutes'],
  'rec.finalise.conclusion_notice': ['Ban hành thông báo', 'Issue the notice'],
  'rec.finalise_warning.minutes': [
    'Sau khi chốt, biên bản không thể sửa. Chốt?',
    'Once final, the minutes can no longer change. Finalise?',
  ],
  'rec.finalise_warning.conclusion_notice': [
    'Sau khi ban hành, thông báo không thể sửa. Ban hành?',
    'Once issued, the notice can no longer change. Issue?',
  ],
  'rec.finalise_confirm': ['Xác nhận', 'Confirm'],
  'rec.cancel': ['Hủy', 'Cancel'],
  'rec.final_at': ['Thời điểm chốt', 'Final at'],
  'rec.signed': ['Chữ ký số', 'Digital signature'],
  'rec.unsigned': ['Không ký số (máy chủ chưa cấu hình chứng thư)', 'Not signed (no certificate on the server)'],
  'rec.issuer': ['Cơ quan ban hành', 'Issuing body'],
  'rec.number': ['Số', 'Number'],
  'rec.symbol': ['Ký hiệu', 'Symbol'],
  'rec.place_name': ['Địa danh', 'Place name'],
  'rec.date': ['Ngày', 'Date'],
  'rec.title': ['Tên hội nghị', 'Meeting'],
  'rec.started_at': ['Bắt đầu', 'Started'],
  'rec.ended_at': ['Kết thúc', 'Ended'],
  'rec.place': ['Địa điểm', 'Place'],
  'rec.chair': ['Chủ trì', 'Chair'],
  'rec.minute_taker': ['Thư ký (người ghi biên bản)', 'Minute-taker'],
  'rec.person_title': ['Chức vụ', 'Position'],
  'rec.attendance': [
    'Có mặt {present}/{members}, vắng {absent}; khách mời {guests}; tài liệu {documents} (lấy từ diễn biến hội nghị).',
    'Present {present}/{members}, absent {absent}; guests {guests}; documents {documents} (from the session).',
  ],
  'rec.opening': ['Phần mở đầu', 'Opening'],
  'rec.proceedings': ['Diễn biến hội nghị', 'Proceedings'],
  'rec.notes': ['Ghi chép', 'Notes'],
  'rec.closing': ['Phần kết thúc', 'Closing'],
  'rec.duration_ms': ['{m} phút {s} giây', '{m} min {s} s'],
  'rec.duration_s': ['{s} giây', '{s} s'],
  'rec.subject': ['Trích yếu', 'Subject'],
  'rec.intro': ['Phần mở đầu', 'Introduction'],
  'rec.sections': ['Nội dung kết luận', 'Conclusions'],
  'rec.section_title': ['Tiêu đề mục', 'Section title'],
  'rec.section_text': ['Nội dung', 'Text'],
  'rec.section_add': ['Thêm mục', 'Add a section'],
  'rec.section_remove': ['Bỏ mục', 'Remove'],
  'rec.authority': ['Thẩm quyền ký', 'Authority'],
  'rec.signer_title': ['Chức vụ người ký', "Signer's position"],
  'rec.signer_name': ['Người ký', 'Signer'],
  'rec.recipients': ['Nơi nhận (mỗi dòng một nơi)', 'Recipients (one a line)'],
  'error.office_unavailable': [
    'Máy chủ chưa cài LibreOffice nên không tạo được PDF.',
    'LibreOffice is not installed on the server: no PDF can be made.',
  ],
  'error.signing_unavailable': ['Không dùng được chứng thư ký số của máy chủ.', "The server's signing certificate cannot be used."],
  'error.render_failed': ['Không tạo được tệp PDF.', 'The PDF could not be made.'],
};

let current = readStoredLang();
const listeners = new Set();

function readStoredLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(v)) return v;
  } catch (_) { /* storage may be unavailable */ }
  return 'vi';
}

export function getLang() {
  return current;
}

export function setLang(lang) {
  if (!LANGS.includes(lang) || lang === current) return;
  current = lang;
  try { localStorage.setItem(STORAGE_KEY, lang); } catch (_) { /* ignore */ }
  applyDocumentLang();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function applyDocumentLang() {
  if (typeof document !== 'undefined') document.documentElement.lang = current;
}

export function hasKey(key) {
  return Object.prototype.hasOwnProperty.call(TABLE, key);
}

export function t(key, params) {
  const row = TABLE[key];
  let s = row ? row[LANGS.indexOf(current)] ?? row[0] : key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }
  return s;
}

// "66.67" (the server's display string) -> "66,67" in Vietnamese.
export function formatPercent(pct) {
  if (pct == null) return '—';
  return current === 'vi' ? String(pct).replace('.', ',') : String(pct);
}

function locale() {
  return current === 'vi' ? 'vi-VN' : 'en-GB';
}

const formatters = new Map();
function formatter(kind) {
  const k = `${current}:${kind}`;
  if (!formatters.has(k)) {
    const opts = { timeZone: TIME_ZONE };
    if (kind === 'datetime') Object.assign(opts, { dateStyle: 'medium', timeStyle: 'short' });
    else if (kind === 'time') Object.assign(opts, { hour: '2-digit', minute: '2-digit' });
    else if (kind === 'date') Object.assign(opts, { dateStyle: 'full' });
    formatters.set(k, new Intl.DateTimeFormat(locale(), opts));
  }
  return formatters.get(k);
}

function toDate(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDateTime(iso) {
  const d = toDate(iso);
  return d ? formatter('datetime').format(d) : '';
}

export function formatTime(iso) {
  const d = toDate(iso);
  return d ? formatter('time').format(d) : '';
}

export function formatDate(iso) {
  const d = toDate(iso);
  return d ? formatter('date').format(d) : '';
}

// "2025-07-01T08:30" typed in Vietnam time -> ISO 8601 UTC. Vietnam has no DST (UTC+7).
export function localInputToUtc(value) {
  if (!value) return null;
  const d = new Date(`${value.length === 16 ? `${value}:00` : value}+07:00`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ISO 8601 UTC -> "2025-07-01T08:30" in Vietnam time, for a datetime-local input.
export function utcToLocalInput(iso) {
  const d = toDate(iso);
  return d ? new Date(d.getTime() + 7 * 3600 * 1000).toISOString().slice(0, 16) : '';
}

// 1536000 -> "1,5 MB" (Vietnamese decimal comma).
export function formatBytes(n) {
  if (n == null) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  const s = u === 0 ? String(v) : v.toFixed(1);
  return `${current === 'vi' ? s.replace('.', ',') : s} ${units[u]}`;
}

// Upload refusals and rendering failures (agendas/rendering/errors.py CODES) in words a
// secretary can act on; anything else as errorText.
export function docErrorText(err) {
  if (!err) return '';
  const key = `docerr.${err.code}`;
  return hasKey(key) ? t(key) : errorText(err);
}

export function errorText(err) {
  if (!err) return '';
  const reason = err.details && typeof err.details === 'object' && err.details.reason;
  if (reason && hasKey(`reason.${reason}`)) return t(`reason.${reason}`);
  const code = err.code || 'unknown';
  const key = `error.${code}`;
  const base = hasKey(key) ? t(key) : t('error.unknown');
  return err.message && err.message !== base ? `${base} (${err.message})` : base;
}

applyDocumentLang();
