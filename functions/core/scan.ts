/** The image-scan gate's reading of a scan's status (ECR basic and enhanced scanning). */

/**
 * Scan states that end by themselves: a scan on push under way (`IN_PROGRESS`, `PENDING`), or not begun yet
 * right after the push (no scan found: `NONE`). The gate waits for them; it never refuses a scan in progress.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html
 */
export const isScanPending = (status: string): boolean => status === 'IN_PROGRESS' || status === 'PENDING' || status === 'NONE';

/** The scan states the completion events carry: ECR's `ECR Image Scan` and Inspector's `Inspector2 Scan`. */
export const SCAN_EVENT_TYPES = { ecr: 'ECR Image Scan', inspector: 'Inspector2 Scan' } as const;
