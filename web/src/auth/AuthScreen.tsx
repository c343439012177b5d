import { type FormEvent, useEffect, useState } from 'react';
import { publicApi, type User } from '../session.tsx';
import { Field } from '../ui/Field.tsx';
import { type FieldErrors, fieldErrors } from './errors.ts';

export interface SignedIn {
  token: string;
  user: User;
}

/** Login, or register (then logged in at once). */
export function AuthScreen({ onSignedIn }: { onSignedIn(value: SignedIn): void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  return (
    <main className="auth">
      <h1 className="brand">BigTech Chat</h1>
      {mode === 'login' ? (
        <LoginForm onSignedIn={onSignedIn} onRegister={() => setMode('register')} />
      ) : (
        <RegisterForm onSignedIn={onSignedIn} onLogin={() => setMode('login')} />
      )}
    </main>
  );
}

type LoginResult = { ok: true; value: SignedIn } | { ok: false; errors: FieldErrors };

async function login(email: string, password: string): Promise<LoginResult> {
  try {
    const { data, error } = await publicApi.POST('/api/auth/login/json', { body: { email, password } });
    if (data) return { ok: true, value: { token: data.access_token, user: data.user } };
    return { ok: false, errors: fieldErrors(error, '로그인하지 못했습니다') };
  } catch {
    return { ok: false, errors: { form: '서버에 연결할 수 없습니다' } };
  }
}

function LoginForm({ onSignedIn, onRegister }: { onSignedIn(value: SignedIn): void; onRegister(): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  // The e2e run measures navigation start → this form usable.
  useEffect(() => {
    performance.mark('login-form-ready');
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const result = await login(email, password);
    setBusy(false);
    if (result.ok) onSignedIn(result.value);
    else setErrors(result.errors);
  }
  return (
    <form className="card" onSubmit={submit} aria-label="로그인" noValidate>
      <h2>로그인</h2>
      <Field label="이메일" type="email" autoComplete="username" value={email} onValue={setEmail} error={errors.email} required />
      <Field label="비밀번호" type="password" autoComplete="current-password" value={password} onValue={setPassword} error={errors.password} required />
      {errors.form && <p role="alert" className="form-error">{errors.form}</p>}
      <button type="submit" className="primary" disabled={busy}>
        로그인
      </button>
      <p className="switch">
        계정이 없으신가요?{' '}
        <button type="button" className="link" onClick={onRegister}>
          회원가입
        </button>
      </p>
    </form>
  );
}

function RegisterForm({ onSignedIn, onLogin }: { onSignedIn(value: SignedIn): void; onLogin(): void }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const name = displayName.trim();
      const { data, error } = await publicApi.POST('/api/auth/register', {
        body: { username, email, password, ...(name ? { display_name: name } : {}) },
      });
      if (!data) return setErrors(fieldErrors(error, '가입하지 못했습니다'));
      const result = await login(email, password);
      if (result.ok) onSignedIn(result.value);
      else setErrors(result.errors);
    } catch {
      setErrors({ form: '서버에 연결할 수 없습니다' });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card" onSubmit={submit} aria-label="회원가입" noValidate>
      <h2>회원가입</h2>
      <Field
        label="아이디"
        autoComplete="username"
        value={username}
        onValue={setUsername}
        error={errors.username}
        hint="3~50자, 영문·숫자·밑줄(_)"
        required
      />
      <Field label="이메일" type="email" autoComplete="email" value={email} onValue={setEmail} error={errors.email} required />
      <Field
        label="비밀번호"
        type="password"
        autoComplete="new-password"
        value={password}
        onValue={setPassword}
        error={errors.password}
        hint="8자 이상, 흔하지 않은 것으로"
        required
      />
      <Field label="표시 이름" autoComplete="nickname" value={displayName} onValue={setDisplayName} error={errors.display_name} hint="선택" />
      {errors.form && <p role="alert" className="form-error">{errors.form}</p>}
      <button type="submit" className="primary" disabled={busy}>
        가입하기
      </button>
      <p className="switch">
        이미 계정이 있으신가요?{' '}
        <button type="button" className="link" onClick={onLogin}>
          로그인으로
        </button>
      </p>
    </form>
  );
}
