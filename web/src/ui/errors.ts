import type { Schema } from '@bigtech/chat-client';

/** A short Korean sentence for an API error body (undefined: no error). */
export function describeError(error: Schema<'Error'> | undefined, what = '요청'): string | undefined {
  if (!error) return undefined;
  switch (error.error) {
    case 'not_found':
      return '찾을 수 없습니다';
    case 'conflict':
      return '이미 처리된 요청입니다';
    case 'forbidden':
      return '권한이 없습니다';
    case 'rate_limited':
      return '너무 자주 시도했습니다. 잠시 후 다시 시도하세요';
    case 'payload_too_large':
      return '파일이 너무 큽니다';
    case 'unsupported_media_type':
      return '지원하지 않는 파일 형식입니다';
    case 'validation_error':
      return `${what}을(를) 확인하세요: ${error.message}`;
    default:
      return `${what}을(를) 처리하지 못했습니다`;
  }
}
