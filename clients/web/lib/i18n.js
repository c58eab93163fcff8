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

export function errorText(err) {
  if (!err) return '';
  const code = err.code || 'unknown';
  const key = `error.${code}`;
  const base = hasKey(key) ? t(key) : t('error.unknown');
  return err.message && err.message !== base ? `${base} (${err.message})` : base;
}

applyDocumentLang();
